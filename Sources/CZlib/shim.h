#ifndef AFG_CZLIB_SHIM_H
#define AFG_CZLIB_SHIM_H
// zlib (Debian's zlib1g-dev). No stable Swift API: only FeatureIO's Inflate.swift imports this.
#include <zlib.h>

/// `inflateInit2` is a macro; Swift cannot call it directly.
static inline int afg_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
#endif
