"""asv benchmarks of mcdh (see README, "Performance"): same-run ratios (track_*), peak memory (peakmem_*), wall times (time_*)."""
