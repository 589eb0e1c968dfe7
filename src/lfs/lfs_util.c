/* Error names and texts, default configuration. */
#include "lfs/lfs.h"

#include <string.h>

struct lfs_err_row {
    int code;
    const char *name;
    const char *text;
};

static const struct lfs_err_row lfs_err_rows[] = {
    {LFS_ERR_OK, "LFS_ERR_OK", "no error"},
    {LFS_ERR_IO, "LFS_ERR_IO", "input/output error on the block device"},
    {LFS_ERR_CORRUPT, "LFS_ERR_CORRUPT", "corrupted filesystem"},
    {LFS_ERR_NOENT, "LFS_ERR_NOENT", "no such file or directory"},
    {LFS_ERR_EXIST, "LFS_ERR_EXIST", "entry already exists"},
    {LFS_ERR_NOTDIR, "LFS_ERR_NOTDIR", "not a directory"},
    {LFS_ERR_ISDIR, "LFS_ERR_ISDIR", "is a directory"},
    {LFS_ERR_NOTEMPTY, "LFS_ERR_NOTEMPTY", "directory not empty"},
    {LFS_ERR_BADF, "LFS_ERR_BADF", "bad file handle"},
    {LFS_ERR_FBIG, "LFS_ERR_FBIG", "file too large"},
    {LFS_ERR_INVAL, "LFS_ERR_INVAL", "invalid argument"},
    {LFS_ERR_NOSPC, "LFS_ERR_NOSPC", "no space left on the filesystem"},
    {LFS_ERR_NOMEM, "LFS_ERR_NOMEM", "out of memory"},
    {LFS_ERR_NOATTR, "LFS_ERR_NOATTR", "no such attribute"},
    {LFS_ERR_NAMETOOLONG, "LFS_ERR_NAMETOOLONG", "name too long"},
};

static const struct lfs_err_row *lfs_err_find(int err)
{
    for (size_t i = 0; i < sizeof lfs_err_rows / sizeof lfs_err_rows[0]; i++)
        if (lfs_err_rows[i].code == err)
            return &lfs_err_rows[i];
    return NULL;
}

const char *lfs_err_name(int err)
{
    const struct lfs_err_row *r = lfs_err_find(err);
    return r ? r->name : "LFS_ERR_UNKNOWN";
}

const char *lfs_err_text(int err)
{
    const struct lfs_err_row *r = lfs_err_find(err);
    return r ? r->text : "unknown error";
}

void lfs_config_default(struct lfs_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->read_size = 32;
    cfg->prog_size = 32;
    cfg->block_size = 4096;
    cfg->block_count = 0;
    cfg->block_cycles = 100;
    cfg->cache_size = 128;
    cfg->lookahead_size = 32;
    cfg->name_max = LFS_NAME_MAX;
    cfg->file_max = LFS_FILE_MAX;
    cfg->attr_max = LFS_ATTR_MAX;
    cfg->inline_max = 0;
    cfg->disk_version = LFS_DISK_VERSION_2_1;
}
