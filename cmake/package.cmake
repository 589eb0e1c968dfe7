# (packages)
