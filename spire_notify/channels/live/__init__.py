"""The live inbox: new notifications and read counts pushed to open inboxes over server-sent events."""
