/* layout_fill.h — the layout of the interpreter the module was built for. */
#ifndef STROBE_LAYOUT_FILL_H
#define STROBE_LAYOUT_FILL_H
#include "layout.h"
void strobe_layout_fill(strobe_layout *L);
#endif
