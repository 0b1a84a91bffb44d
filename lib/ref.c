#include "ref.h"
