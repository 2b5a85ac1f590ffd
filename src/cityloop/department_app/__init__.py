"""部门处置端: the phone app (PWA) of department and town (属地) staff — my cases, handle, 延期/回退/挂账."""
