#!/usr/bin/env python3
"""Writes Sources/CephCABI/UnimplementedRBD.swift and UnimplementedRados.swift: one exported stub for every rbd_/rados_
function that Debian's consumers of librbd/librados import (QEMU's block-rbd.so, fio,
python3-rbd and python3-rados) and SwiftRBD does not implement yet, so that they load
(Python binds every symbol at import). A stub says once on stderr that it is not
implemented and returns -EOPNOTSUPP (NULL for the few that return a pointer).

Run it again after implementing functions:  python3 scripts/support/gen-cabi-stubs.py
"""
import glob, os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONSUMERS = [
    "/usr/lib/x86_64-linux-gnu/qemu/block-rbd.so",
    "/usr/bin/fio",
    *glob.glob("/usr/lib/python3/dist-packages/rbd.cpython-*.so"),
    *glob.glob("/usr/lib/python3/dist-packages/rados.cpython-*.so"),
]
# Functions whose C return type is a pointer (or a handle): their stubs return NULL.
POINTER_RESULTS = {
    "rados_cct", "rados_ioctx_cct", "rados_ioctx_get_cluster", "rados_create_read_op",
    "rados_create_write_op", "rados_object_list_begin", "rados_object_list_end",
}
# Functions returning nothing: their stubs return nothing either.
VOID_RESULTS = {
    "rados_release_read_op", "rados_release_write_op", "rados_ioctx_locator_set_key",
    "rados_ioctx_snap_set_read", "rados_nobjects_list_close", "rados_omap_get_end",
    "rados_read_op_assert_exists", "rados_read_op_assert_version", "rados_read_op_cmpext",
    "rados_read_op_cmpxattr", "rados_read_op_exec", "rados_read_op_getxattrs",
    "rados_read_op_omap_cmp", "rados_read_op_omap_get_keys", "rados_read_op_omap_get_keys2",
    "rados_read_op_omap_get_vals", "rados_read_op_omap_get_vals2",
    "rados_read_op_omap_get_vals_by_keys", "rados_read_op_omap_get_vals_by_keys2",
    "rados_read_op_read", "rados_read_op_set_flags", "rados_read_op_stat",
    "rados_write_op_append", "rados_write_op_assert_exists", "rados_write_op_assert_version",
    "rados_write_op_cmpext", "rados_write_op_cmpxattr", "rados_write_op_create",
    "rados_write_op_exec", "rados_write_op_omap_clear", "rados_write_op_omap_cmp",
    "rados_write_op_omap_rm_keys", "rados_write_op_omap_rm_keys2", "rados_write_op_omap_set",
    "rados_write_op_omap_set2", "rados_write_op_remove", "rados_write_op_rmxattr",
    "rados_write_op_set_alloc_hint", "rados_write_op_set_alloc_hint2",
    "rados_write_op_set_flags", "rados_write_op_setxattr", "rados_write_op_truncate",
    "rados_write_op_write", "rados_write_op_write_full", "rados_write_op_writesame",
    "rados_write_op_zero", "rados_aio_release", "rados_buffer_free", "rados_shutdown",
    "rados_ioctx_destroy", "rados_omap_iter_end", "rados_getxattrs_end",
    "rados_object_list_cursor_free", "rados_object_list_slice", "rados_version",
    "rbd_aio_release", "rbd_image_spec_list_cleanup", "rbd_image_spec_cleanup",
    "rbd_linked_image_spec_list_cleanup", "rbd_linked_image_spec_cleanup",
    "rbd_snap_spec_cleanup", "rbd_snap_list_end", "rbd_group_info_cleanup",
    "rbd_group_image_status_list_cleanup", "rbd_group_snap_list_cleanup",
    "rbd_image_options_create", "rbd_image_options_destroy", "rbd_version",
    "rbd_mirror_image_info_cleanup", "rbd_mirror_image_global_status_cleanup",
    "rbd_mirror_image_global_status_list_cleanup", "rbd_mirror_image_info_list_cleanup",
    "rbd_mirror_image_status_cleanup", "rbd_mirror_image_status_list_cleanup",
    "rbd_mirror_peer_list_cleanup", "rbd_mirror_peer_site_list_cleanup",
    "rbd_pool_stats_destroy", "rbd_pool_stats_create", "rbd_trash_get_cleanup",
    "rbd_trash_list_cleanup", "rbd_migration_status_cleanup", "rbd_snap_get_group_namespace_cleanup",
    "rbd_snap_mirror_namespace_cleanup", "rbd_snap_get_trash_namespace_cleanup",
    "rbd_image_metadata_list_cleanup", "rbd_pool_metadata_list_cleanup",
    "rbd_config_option_list_cleanup", "rbd_config_pool_list_cleanup", "rbd_config_image_list_cleanup",
    "rbd_watchers_list_cleanup", "rbd_mirror_image_instance_id_list_cleanup",
    "rbd_mirror_image_info_list_cleanup", "rbd_list_children_cleanup", "rbd_list_lockers_cleanup",
    "rbd_group_image_list_cleanup", "rbd_group_list_cleanup",
}

def imported(path):
    out = subprocess.run(["objdump", "-T", path], capture_output=True, text=True).stdout
    return {m.group(1) for m in re.finditer(r"\*UND\*.*\s((?:rbd|rados)_[A-Za-z0-9_]+)$", out, re.M)}

def implemented():
    names = set()
    for source in glob.glob(os.path.join(ROOT, "Sources/CephCABI/*.swift")):
        if os.path.basename(source).startswith("Unimplemented"):
            continue
        names |= set(re.findall(r'@_cdecl\("([A-Za-z0-9_]+)"\)', open(source).read()))
    return names

needed = set()
for consumer in CONSUMERS:
    if os.path.exists(consumer):
        needed |= imported(consumer)
missing = sorted(needed - implemented())

def write(path, names, library):
    lines = [
        "import CCephABI",
        "import Foundation",
        "",
        "// Generated by scripts/support/gen-cabi-stubs.py: every " + library + " function that",
        "// QEMU's block-rbd.so, fio, python3-rbd or python3-rados import and SwiftRBD does not",
        "// implement yet. Each exists so those consumers load (Python binds every symbol at",
        "// import); called, it says so once on stderr and returns -EOPNOTSUPP (NULL for",
        "// handle-returning functions, nothing for void ones).",
        "",
    ]
    for name in names:
        lines.append(f'@_cdecl("{name}")')
        if name in POINTER_RESULTS:
            lines.append(f"public func {name}() -> UnsafeMutableRawPointer? {{ _ = Diagnostics.notImplemented(\"{name}\"); return nil }}")
        elif name in VOID_RESULTS:
            lines.append(f"public func {name}() {{ _ = Diagnostics.notImplemented(\"{name}\") }}")
        else:
            lines.append(f"public func {name}() -> Int32 {{ Diagnostics.notImplemented(\"{name}\") }}")
        lines.append("")
    open(os.path.join(ROOT, "Sources/CephCABI", path), "w").write("\n".join(lines))

write("UnimplementedRBD.swift", [n for n in missing if n.startswith("rbd_")], "librbd (rbd_)")
write("UnimplementedRados.swift", [n for n in missing if n.startswith("rados_")], "librados (rados_)")
print(f"{len(missing)} stubs for {len(needed)} imported functions")
