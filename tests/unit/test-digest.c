/* placeholder: replaced by the module's tests */
#include "test.h"
int main(void) { CHECK(0); TEST_END(); }
