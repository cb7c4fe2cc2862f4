/* Skeleton (being written). */
#include "telephony.h"
