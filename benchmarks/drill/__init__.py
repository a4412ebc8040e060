"""`make drill`: a failover drill on a throw-away PostgreSQL and Redis (see ``main``)."""
