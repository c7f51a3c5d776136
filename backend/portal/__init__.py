"""The partner web portal: server-rendered pages under /portal for venue staff and admins."""
