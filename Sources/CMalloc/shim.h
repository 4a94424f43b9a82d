#ifndef AFG_CMALLOC_SHIM_H
#define AFG_CMALLOC_SHIM_H
// glibc's allocator tuning (mallopt and its M_* parameters), which Swift's Glibc module
// does not export. Only the Linalg module imports this, through
// Sources/Linalg/Allocator.swift.
#include <malloc.h>
#endif
