/* The same check, compiled as C++. */
#include "header.c"
