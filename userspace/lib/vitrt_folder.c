// SPDX-License-Identifier: MIT
/*
 * libvitrt: datasets kept as folders of PNG/JPEG files, read one image at a time.
 *
 * A torchvision ImageFolder tree, root/<class>/.../<image>: the classes are the sub-folders
 * sorted by name (byte order, as Python sorts str), the label of an image the index of its
 * class.  The images of a class are all those below its folder, at any depth and through
 * symlinks, in the order of torchvision's make_dataset: sorted(os.walk(class, followlinks=True)),
 * that is by folder path, then by name.  A symlink back to a folder above it (a loop) is not
 * walked: torchvision would walk it until the system gives up (ELOOP), listing the same images
 * at every turn.  A flat folder, root/<image>: images without labels (for calibration).
 *
 * Only the file names are held (50,000 names are a few MB); pixels are decoded when an image is
 * asked for.  Images are .png, .jpg and .jpeg in any case, the formats vitrt decodes.
 * torchvision also lists .bmp, .pgm, .ppm, .tif, .tiff and .webp files and dangling symlinks;
 * here they are skipped like any other file, so a tree holding them is numbered differently.
 * Where torchvision is silent, vitrt refuses: files beside the class folders (ignored by
 * find_classes) and a sub-folder that cannot be read (left out by os.walk) are errors.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "vitrt_image.h"
#include "vitrt_priv.h"

struct folder {
	struct vitrt_dataset pub;	/* first: the handle callers get */
	char *root;
	char **class_names;		/* [classes] */
	char **files;			/* [count], relative to root */
	uint32_t *labels;		/* [count] */
	uint32_t alloc;
};

/* The names in a directory listing, split into sub-folders and image files. */
struct listing {
	char **dirs, **images;
	uint32_t ndirs, nimages;
};

static void names_free(char **v, uint32_t n)
{
	for (uint32_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void listing_free(struct listing *l)
{
	names_free(l->dirs, l->ndirs);
	names_free(l->images, l->nimages);
	memset(l, 0, sizeof(*l));
}

static bool is_image_name(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") ||
		       !strcasecmp(dot, ".jpeg"));
}

static int push_name(char ***v, uint32_t *n, const char *name)
{
	char **nv;

	if (*n == UINT32_MAX)
		return VITRT_EUNSUPPORTED;
	nv = realloc(*v, ((size_t)*n + 1) * sizeof(**v));
	if (!nv)
		return VITRT_ENOMEM;
	*v = nv;
	nv[*n] = strdup(name);
	if (!nv[*n])
		return VITRT_ENOMEM;
	(*n)++;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One entry of @dir: follow links (as torchvision does), sort it into @l. */
static int list_entry(int dfd, const char *name, struct listing *l)
{
	struct stat st;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (fstatat(dfd, name, &st, 0))
		return 0;	/* a dangling link is no image */
	if (S_ISDIR(st.st_mode))
		return push_name(&l->dirs, &l->ndirs, name);
	if (S_ISREG(st.st_mode) && is_image_name(name))
		return push_name(&l->images, &l->nimages, name);
	return 0;
}

/* Sub-folders and image files of @dir, each sorted by name. */
static int list_dir(const char *dir, struct listing *l, char *msg, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int ret = 0;

	memset(l, 0, sizeof(*l));
	if (!d)
		return vitrt_file_error(msg, cap, VITRT_ESYS, dir, "%s", strerror(errno));
	errno = 0;
	while (!ret && (e = readdir(d)))
		ret = list_entry(dirfd(d), e->d_name, l);
	if (!ret && errno)
		ret = vitrt_file_error(msg, cap, VITRT_ESYS, dir, "%s", strerror(errno));
	else if (ret)
		ret = vitrt_file_error(msg, cap, ret, dir, "too many files to list");
	closedir(d);
	if (ret) {
		listing_free(l);
		return ret;
	}
	/* qsort wants an array, even of nothing */
	if (l->ndirs)
		qsort(l->dirs, l->ndirs, sizeof(*l->dirs), cmp_name);
	if (l->nimages)
		qsort(l->images, l->nimages, sizeof(*l->images), cmp_name);
	return 0;
}

/*
 * A folder on the way down from a class folder.  A sub-folder that is one of these (by device
 * and inode) is a symlink loop: it is not walked again.
 */
struct walk {
	const struct walk *up;
	dev_t dev;
	ino_t ino;
};

static bool walk_is_loop(const struct walk *w, const struct stat *st)
{
	for (; w; w = w->up)
		if (w->dev == st->st_dev && w->ino == st->st_ino)
			return true;
	return false;
}

/*
 * torchvision's order within a class, sorted(os.walk(class_dir)): by folder path, then by file
 * name.  Not plain path order: "c/m/x.png" comes before "c/m-n/y.png" and "c/z.png" before
 * "c/k/y.png".  Both paths hold the class folder, so both have a '/'.
 */
static int cmp_walk_order(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t dx = (size_t)(strrchr(x, '/') - x), dy = (size_t)(strrchr(y, '/') - y);
	int c = memcmp(x, y, dx < dy ? dx : dy);

	if (c)
		return c;
	if (dx != dy)
		return dx < dy ? -1 : 1;
	return strcmp(x + dx, y + dy);
}

/* Append @dir/@name (relative to the root) as an image of class @c. */
static int push_image(struct folder *f, const char *dir, const char *name, uint32_t c)
{
	char *rel;
	int ret;

	if (f->pub.count == f->alloc) {
		uint32_t n = f->alloc > UINT32_MAX / 2 ? UINT32_MAX : f->alloc * 2 + 64;
		uint32_t *nl = realloc(f->labels, (size_t)n * sizeof(*nl));

		if (!nl)
			return VITRT_ENOMEM;
		f->labels = nl;
		f->alloc = n;
	}
	if (asprintf(&rel, "%s/%s", dir, name) < 0)
		return VITRT_ENOMEM;
	ret = push_name(&f->files, &f->pub.count, rel);
	free(rel);
	if (!ret)
		f->labels[f->pub.count - 1] = c;
	return ret;
}

static int walk_dir(struct folder *f, uint32_t c, const char *rel, const struct walk *up,
		    char *msg, size_t cap);

/* The images of folder @dir (@rel under the root), then those of its sub-folders. */
static int walk_listing(struct folder *f, uint32_t c, const char *rel, const char *dir,
			const struct walk *here, char *msg, size_t cap)
{
	struct listing l;
	char *sub;
	int ret = list_dir(dir, &l, msg, cap);

	for (uint32_t i = 0; !ret && i < l.nimages; i++) {
		ret = push_image(f, rel, l.images[i], c);
		if (ret)
			ret = vitrt_file_error(msg, cap, ret, dir, "%s", vitrt_strerror(ret));
	}
	for (uint32_t i = 0; !ret && i < l.ndirs; i++) {
		if (asprintf(&sub, "%s/%s", rel, l.dirs[i]) < 0) {
			ret = vitrt_file_error(msg, cap, VITRT_ENOMEM, dir, "out of memory");
			break;
		}
		ret = walk_dir(f, c, sub, here, msg, cap);
		free(sub);
	}
	listing_free(&l);
	return ret;
}

/*
 * Append the images under @rel (relative to the root) as class @c, at any depth and through
 * symlinks, as torchvision's os.walk(followlinks=True); @up are the folders above it.
 */
static int walk_dir(struct folder *f, uint32_t c, const char *rel, const struct walk *up,
		    char *msg, size_t cap)
{
	struct walk here = { .up = up };
	struct stat st;
	char *dir;
	int ret = 0;

	if (asprintf(&dir, "%s/%s", f->root, rel) < 0)
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, f->root, "out of memory");
	if (stat(dir, &st)) {
		ret = vitrt_file_error(msg, cap, VITRT_ESYS, dir, "%s", strerror(errno));
	} else if (!walk_is_loop(up, &st)) {
		here.dev = st.st_dev;
		here.ino = st.st_ino;
		ret = walk_listing(f, c, rel, dir, &here, msg, cap);
	}
	free(dir);
	return ret;
}

/* Append the images of class @c (folder @name under the root), in torchvision's order. */
static int add_class(struct folder *f, uint32_t c, const char *name, char *msg, size_t cap)
{
	uint32_t first = f->pub.count;
	int ret = walk_dir(f, c, name, NULL, msg, cap);
	char *dir;

	if (ret)
		return ret;
	if (f->pub.count == first) {
		if (asprintf(&dir, "%s/%s", f->root, name) < 0)
			return vitrt_file_error(msg, cap, VITRT_ENOMEM, f->root, "out of memory");
		ret = vitrt_file_error(msg, cap, VITRT_EFORMAT, dir,
				"class folder without PNG or JPEG images (.png, .jpg, .jpeg), at any depth");
		free(dir);
		return ret;
	}
	qsort(f->files + first, f->pub.count - first, sizeof(*f->files), cmp_walk_order);
	return 0;
}

static int folder_scan(struct folder *f, char *msg, size_t cap)
{
	struct listing l;
	int ret = list_dir(f->root, &l, msg, cap);

	if (ret)
		return ret;
	if (l.ndirs && l.nimages)
		ret = vitrt_file_error(msg, cap, VITRT_EFORMAT, f->root,
				"both images (%s) and folders (%s): an image folder has only images, an ImageFolder tree only class folders",
				l.images[0], l.dirs[0]);
	else if (!l.ndirs && !l.nimages)
		ret = vitrt_file_error(msg, cap, VITRT_EFORMAT, f->root,
				"no PNG or JPEG images and no class folders");
	if (ret) {
		listing_free(&l);
		return ret;
	}
	if (!l.ndirs) {
		/* a flat folder: the listing is the dataset */
		f->pub.kind = VITRT_DATASET_FLAT;
		f->files = l.images;
		f->pub.count = l.nimages;
		l.images = NULL;
		l.nimages = 0;
	} else {
		f->pub.kind = VITRT_DATASET_FOLDERS;
		for (uint32_t c = 0; !ret && c < l.ndirs; c++)
			ret = add_class(f, c, l.dirs[c], msg, cap);
		f->class_names = l.dirs;
		f->pub.classes = l.ndirs;
		l.dirs = NULL;
		l.ndirs = 0;
	}
	listing_free(&l);
	return ret;
}

struct vitrt_dataset *vitrt_folder_open(const char *root, int *err, char *msg, size_t cap)
{
	struct folder *f = calloc(1, sizeof(*f));

	if (f)
		f->root = strdup(root);
	if (!f || !f->root) {
		*err = vitrt_file_error(msg, cap, VITRT_ENOMEM, root, "out of memory");
	} else {
		f->pub.images_path = f->root;
		*err = folder_scan(f, msg, cap);
		f->pub.class_names = f->class_names;
		if (!*err)
			return &f->pub;
	}
	vitrt_folder_close(f ? &f->pub : NULL);
	return NULL;
}

void vitrt_folder_close(struct vitrt_dataset *ds)
{
	struct folder *f = (struct folder *)ds;

	if (!f)
		return;
	names_free(f->files, f->pub.count);
	names_free(f->class_names, f->pub.classes);
	free(f->labels);
	free(f->root);
	free(f);
}

int vitrt_folder_get(const struct vitrt_dataset *ds, uint32_t i, const struct vitrt_prep *p,
		     uint8_t *pix, int32_t *label, char *msg, size_t cap)
{
	const struct folder *f = (const struct folder *)ds;
	struct vitrt_image img;
	char *path;
	int ret;

	if (asprintf(&path, "%s/%s", f->root, f->files[i]) < 0)
		return vitrt_file_error(msg, cap, VITRT_ENOMEM, f->root, "out of memory");
	ret = vitrt_image_load(path, p, &img, msg, cap);
	free(path);
	if (ret)
		return ret;
	memcpy(pix, img.pix, (size_t)p->chans * p->size * p->size);
	vitrt_image_release(&img);
	*label = ds->kind == VITRT_DATASET_FOLDERS ? (int32_t)f->labels[i] : -1;
	return 0;
}
