# (installation rules)
