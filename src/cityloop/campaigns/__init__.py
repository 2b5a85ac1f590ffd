"""专项普查: special collection campaigns with grids, inspectors, a checklist, tagged cases and progress."""
