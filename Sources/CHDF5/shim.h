#ifndef AFG_CHDF5_SHIM_H
#define AFG_CHDF5_SHIM_H
// HDF5 (serial). Its type and flag constants are C macros (often expanding to
// `(H5OPEN H5T_NATIVE_FLOAT_g)`), which Swift cannot import: these static inline
// getters are the one door. Only FeatureIO imports this module.
#include <hdf5.h>

static inline hid_t afg_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t afg_H5S_ALL(void) { return H5S_ALL; }
static inline unsigned afg_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned afg_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline unsigned afg_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned afg_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline hid_t afg_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t afg_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t afg_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t afg_H5P_GROUP_CREATE(void) { return H5P_GROUP_CREATE; }
static inline hid_t afg_H5P_OBJECT_CREATE(void) { return H5P_OBJECT_CREATE; }
static inline hid_t afg_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline hid_t afg_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t afg_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t afg_H5T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
static inline hid_t afg_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t afg_H5T_NATIVE_INT16(void) { return H5T_NATIVE_INT16; }
static inline hid_t afg_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t afg_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t afg_H5T_NATIVE_UINT32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t afg_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t afg_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t afg_H5T_NATIVE_HBOOL(void) { return H5T_NATIVE_HBOOL; }
static inline hid_t afg_H5T_C_S1(void) { return H5T_C_S1; }
static inline hid_t afg_H5T_IEEE_F16LE_create(void) {
    // HDF5 1.10 has no predefined half type: build IEEE binary16, little endian.
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0) { H5Tclose(t); return -1; }
    if (H5Tset_precision(t, 16) < 0) { H5Tclose(t); return -1; }
    if (H5Tset_size(t, 2) < 0) { H5Tclose(t); return -1; }
    if (H5Tset_ebias(t, 15) < 0) { H5Tclose(t); return -1; }
    return t;
}
static inline hid_t afg_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t afg_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t afg_H5T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t afg_H5T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hsize_t afg_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }
static inline size_t afg_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline int afg_H5T_CSET_UTF8(void) { return H5T_CSET_UTF8; }
static inline int afg_H5T_CSET_ASCII(void) { return H5T_CSET_ASCII; }
static inline int afg_H5T_STR_NULLTERM(void) { return H5T_STR_NULLTERM; }
static inline int afg_H5T_STR_NULLPAD(void) { return H5T_STR_NULLPAD; }

/// Turn off HDF5's automatic error stack printing (errors become typed Swift errors).
static inline void afg_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
