"""督办单 and 协办 task lists: what a department owes, what is overdue, and the helpers' figures."""
