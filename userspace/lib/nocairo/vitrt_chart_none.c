// SPDX-License-Identifier: MIT
/*
 * libvitrt without cairo: the VM's static vitrt (Makefile, build/vm-bin), whose initramfs has
 * neither cairo's libraries nor a font.  Charts are refused by name.
 */
#include <stdio.h>

#include "../vitrt_chart.h"

int vitrt_chart_png(const struct vitrt_chart *c, const char *path, char *msg, size_t cap)
{
	(void)c;
	snprintf(msg, cap, "%s: this vitrt was built without cairo, so it draws no charts", path);
	return VITRT_EUNSUPPORTED;
}
