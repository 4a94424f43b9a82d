#ifndef AFG_CHDF5_SHIM_H
#define AFG_CHDF5_SHIM_H
// HDF5 (serial). Its type and flag constants are C macros (often expanding to
// `(H5OPEN H5T_NATIVE_FLOAT_g)`), which Swift cannot import: these static inline
// getters are the one door. Only FeatureIO imports this module.
// Debian and Ubuntu keep the serial build's headers under hdf5/serial; elsewhere they are
// at the top of the include path. The library itself is linked by FeatureIO (Package.swift).
#if __has_include(<hdf5/serial/hdf5.h>)
#include <hdf5/serial/hdf5.h>
#else
#include <hdf5.h>
#endif
#include <stdio.h>
#include <stdlib.h>

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
static inline hid_t afg_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t afg_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t afg_H5T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t afg_H5T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hsize_t afg_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }
static inline size_t afg_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline int afg_H5T_CSET_UTF8(void) { return H5T_CSET_UTF8; }
static inline int afg_H5T_CSET_ASCII(void) { return H5T_CSET_ASCII; }
static inline int afg_H5T_STR_NULLTERM(void) { return H5T_STR_NULLTERM; }
static inline int afg_H5T_STR_NULLPAD(void) { return H5T_STR_NULLPAD; }

static inline hid_t afg_H5P_DATASET_ACCESS(void) { return H5P_DATASET_ACCESS; }
static inline hid_t afg_H5P_ATTRIBUTE_CREATE(void) { return H5P_ATTRIBUTE_CREATE; }
static inline hid_t afg_H5T_NATIVE_SCHAR(void) { return H5T_NATIVE_SCHAR; }

/// Callback for `afg_visit_links`: `path` relative to the start group; `kind` is
/// 1 for a dataset, 0 for a group, 2 for anything else (named type, soft/external link).
typedef void (*afg_visit_fn)(const char *path, int kind, void *ctx);
typedef struct { afg_visit_fn fn; void *ctx; } afg__visit_state;
static inline herr_t afg__visit_link(hid_t g, const char *name, const H5L_info_t *info, void *op) {
    afg__visit_state *s = (afg__visit_state *)op;
    int kind = 2;
    if (info->type == H5L_TYPE_HARD) {
        hid_t o = H5Oopen(g, name, H5P_DEFAULT);
        if (o >= 0) {
            H5I_type_t t = H5Iget_type(o);
            kind = t == H5I_DATASET ? 1 : (t == H5I_GROUP ? 0 : 2);
            H5Oclose(o);
        }
    }
    s->fn(name, kind, s->ctx);
    return 0;
}
/// Recursively visit every link under `loc` in name order (H5Lvisit's signature moved
/// between HDF5 1.10 and 1.12; the C macro picks the right one here).
static inline herr_t afg_visit_links(hid_t loc, afg_visit_fn fn, void *ctx) {
    afg__visit_state s = { fn, ctx };
    return H5Lvisit(loc, H5_INDEX_NAME, H5_ITER_INC, afg__visit_link, &s);
}

/// Callback for `afg_attribute_names`.
typedef void (*afg_name_fn)(const char *name, void *ctx);
typedef struct { afg_name_fn fn; void *ctx; } afg__name_state;
static inline herr_t afg__attr_name(hid_t loc, const char *name, const H5A_info_t *info, void *op) {
    (void)loc; (void)info;
    afg__name_state *s = (afg__name_state *)op;
    s->fn(name, s->ctx);
    return 0;
}
/// Every attribute name on object `loc`, in name order.
static inline herr_t afg_attribute_names(hid_t loc, afg_name_fn fn, void *ctx) {
    afg__name_state s = { fn, ctx };
    hsize_t idx = 0;
    return H5Aiterate2(loc, H5_INDEX_NAME, H5_ITER_INC, &idx, afg__attr_name, &s);
}

/// Free the strings HDF5 allocated when reading variable-length data.
static inline herr_t afg_vlen_reclaim(hid_t type, hid_t space, void *buf) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Treclaim(type, space, H5P_DEFAULT, buf);
#else
    return H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
#endif
}

static inline hsize_t afg_H5F_UNLIMITED(void) { return H5F_UNLIMITED; }

/// If link `name` under `loc` is an external link, copies its target file name and object
/// path into `file` / `obj` (cut to their sizes, NUL-terminated) and returns 1; returns 0
/// for any other kind of link and -1 if the link cannot be read. (H5Lget_info's info
/// struct is versioned between 1.10 and 1.12: the C macro picks the right one here.)
static inline int afg_external_link(hid_t loc, const char *name, char *file, size_t file_size,
                                    char *obj, size_t obj_size) {
    H5L_info_t info;
    if (H5Lget_info(loc, name, &info, H5P_DEFAULT) < 0) return -1;
    if (info.type != H5L_TYPE_EXTERNAL) return 0;
    size_t n = info.u.val_size;
    void *buf = malloc(n ? n : 1);
    if (!buf) return -1;
    unsigned flags = 0;
    const char *f = NULL, *o = NULL;
    if (H5Lget_val(loc, name, buf, n, H5P_DEFAULT) < 0 || H5Lunpack_elink_val(buf, n, &flags, &f, &o) < 0) {
        free(buf);
        return -1;
    }
    snprintf(file, file_size, "%s", f ? f : "");
    snprintf(obj, obj_size, "%s", o ? o : "");
    free(buf);
    return 1;
}

/// Turn off HDF5's automatic error stack printing (errors become typed Swift errors).
static inline void afg_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
