#ifndef NIGHTSHIFT_CLIBPQ_SHIM_H
#define NIGHTSHIFT_CLIBPQ_SHIM_H

// libpq's public API; Swift imports it as is. poll(2) comes along because the
// listener waits on the connection's socket without holding a query open.
#include <libpq-fe.h>
#include <poll.h>

#endif
