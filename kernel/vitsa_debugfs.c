// SPDX-License-Identifier: GPL-2.0-only
/*
 * vitsa: /sys/kernel/debug/vitsa/objects, the driver's live objects, for leak checks.
 *
 * Every struct vitsa_device, vitsa_file, vitsa_bo and vitsa_ring_job counts from allocation to
 * release.  With every file closed and every mapping gone, files, bos and jobs must read 0
 * and devices the number of devices bound; the test VM checks exactly that before rmmod.
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "vitsa_drv.h"

atomic_t vitsa_live[VITSA_LIVE_COUNT];

static const char *const vitsa_live_names[VITSA_LIVE_COUNT] = {
	[VITSA_LIVE_DEVICES] = "devices",
	[VITSA_LIVE_FILES] = "files",
	[VITSA_LIVE_BOS] = "bos",
	[VITSA_LIVE_JOBS] = "jobs",
};

static struct dentry *vitsa_debugfs_dir;

static int vitsa_objects_show(struct seq_file *m, void *unused)
{
	int i;

	for (i = 0; i < VITSA_LIVE_COUNT; i++)
		seq_printf(m, "%s %d\n", vitsa_live_names[i], atomic_read(&vitsa_live[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vitsa_objects);

/* Debugfs is optional: failures are ignored, as its API intends. */
void vitsa_debugfs_init(void)
{
	vitsa_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("objects", 0444, vitsa_debugfs_dir, NULL, &vitsa_objects_fops);
}

void vitsa_debugfs_fini(void)
{
	debugfs_remove_recursive(vitsa_debugfs_dir);
}
