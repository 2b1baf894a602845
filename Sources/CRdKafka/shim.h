#ifndef CRDKAFKA_SHIM_H
#define CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h needs the declarations of rdkafka.h: keep this order.
#include <librdkafka/rdkafka_mock.h>

#endif
