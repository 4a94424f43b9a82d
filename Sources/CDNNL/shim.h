#ifndef AFG_CDNNL_SHIM_H
#define AFG_CDNNL_SHIM_H
// oneDNN (Debian's libdnnl-dev, the 2.x C API) for stage one's convolutions. No stable
// Swift API: only the Backbone module imports this, through Sources/Backbone/OneDNN.swift.
// The library is opened with dlopen on first use, not linked: a process that trains no
// backbone never loads it (its C++ start-up would cost every short `afg` run), and a
// machine without it falls back to Backbone's im2col kernels.
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>

/// The calls Backbone makes, resolved from one dlopen handle.
typedef struct {
    __typeof__(&dnnl_engine_create) engine_create;
    __typeof__(&dnnl_stream_create) stream_create;
    __typeof__(&dnnl_stream_wait) stream_wait;
    __typeof__(&dnnl_stream_destroy) stream_destroy;
    __typeof__(&dnnl_memory_desc_init_by_tag) memory_desc_init_by_tag;
    __typeof__(&dnnl_memory_desc_init_by_strides) memory_desc_init_by_strides;
    __typeof__(&dnnl_memory_desc_get_size) memory_desc_get_size;
    __typeof__(&dnnl_memory_desc_equal) memory_desc_equal;
    __typeof__(&dnnl_convolution_forward_desc_init) convolution_forward_desc_init;
    __typeof__(&dnnl_convolution_backward_data_desc_init) convolution_backward_data_desc_init;
    __typeof__(&dnnl_convolution_backward_weights_desc_init) convolution_backward_weights_desc_init;
    __typeof__(&dnnl_reorder_primitive_desc_create) reorder_primitive_desc_create;
    __typeof__(&dnnl_primitive_desc_create) primitive_desc_create;
    __typeof__(&dnnl_primitive_desc_query) primitive_desc_query;
    __typeof__(&dnnl_primitive_desc_query_md) primitive_desc_query_md;
    __typeof__(&dnnl_primitive_desc_destroy) primitive_desc_destroy;
    __typeof__(&dnnl_primitive_create) primitive_create;
    __typeof__(&dnnl_primitive_execute) primitive_execute;
    __typeof__(&dnnl_primitive_destroy) primitive_destroy;
    __typeof__(&dnnl_memory_create) memory_create;
    __typeof__(&dnnl_memory_destroy) memory_destroy;
    __typeof__(&dnnl_primitive_attr_create) primitive_attr_create;
    __typeof__(&dnnl_primitive_attr_set_scratchpad_mode) primitive_attr_set_scratchpad_mode;
    __typeof__(&dnnl_primitive_attr_destroy) primitive_attr_destroy;
    /// OpenMP's, from the library's own runtime (libgomp): the calling thread's team size.
    void (*omp_set_num_threads)(int);
} afg_dnnl_api;

/// Opens libdnnl.so.2 and fills `api`; returns 0 when the library or one of the calls is
/// missing (then `api` must not be used).
static inline int afg_dnnl_load(afg_dnnl_api *api) {
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) return 0;
#define AFG_DNNL_SYM(field, name) if (!(api->field = (__typeof__(api->field))dlsym(h, name))) return 0;
    AFG_DNNL_SYM(engine_create, "dnnl_engine_create")
    AFG_DNNL_SYM(stream_create, "dnnl_stream_create")
    AFG_DNNL_SYM(stream_wait, "dnnl_stream_wait")
    AFG_DNNL_SYM(stream_destroy, "dnnl_stream_destroy")
    AFG_DNNL_SYM(memory_desc_init_by_tag, "dnnl_memory_desc_init_by_tag")
    AFG_DNNL_SYM(memory_desc_init_by_strides, "dnnl_memory_desc_init_by_strides")
    AFG_DNNL_SYM(memory_desc_get_size, "dnnl_memory_desc_get_size")
    AFG_DNNL_SYM(memory_desc_equal, "dnnl_memory_desc_equal")
    AFG_DNNL_SYM(convolution_forward_desc_init, "dnnl_convolution_forward_desc_init")
    AFG_DNNL_SYM(convolution_backward_data_desc_init, "dnnl_convolution_backward_data_desc_init")
    AFG_DNNL_SYM(convolution_backward_weights_desc_init, "dnnl_convolution_backward_weights_desc_init")
    AFG_DNNL_SYM(reorder_primitive_desc_create, "dnnl_reorder_primitive_desc_create")
    AFG_DNNL_SYM(primitive_desc_create, "dnnl_primitive_desc_create")
    AFG_DNNL_SYM(primitive_desc_query, "dnnl_primitive_desc_query")
    AFG_DNNL_SYM(primitive_desc_query_md, "dnnl_primitive_desc_query_md")
    AFG_DNNL_SYM(primitive_desc_destroy, "dnnl_primitive_desc_destroy")
    AFG_DNNL_SYM(primitive_create, "dnnl_primitive_create")
    AFG_DNNL_SYM(primitive_execute, "dnnl_primitive_execute")
    AFG_DNNL_SYM(primitive_destroy, "dnnl_primitive_destroy")
    AFG_DNNL_SYM(memory_create, "dnnl_memory_create")
    AFG_DNNL_SYM(memory_destroy, "dnnl_memory_destroy")
    AFG_DNNL_SYM(primitive_attr_create, "dnnl_primitive_attr_create")
    AFG_DNNL_SYM(primitive_attr_set_scratchpad_mode, "dnnl_primitive_attr_set_scratchpad_mode")
    AFG_DNNL_SYM(primitive_attr_destroy, "dnnl_primitive_attr_destroy")
    AFG_DNNL_SYM(omp_set_num_threads, "omp_set_num_threads")
#undef AFG_DNNL_SYM
    return 1;
}
#endif
