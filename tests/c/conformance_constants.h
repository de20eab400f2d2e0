/* Constants shared with tests/reference/peft_reference.py: change both together. */
#ifndef SP_CONFORMANCE_CONSTANTS_H
#define SP_CONFORMANCE_CONSTANTS_H

#include <stdint.h>

#define NUM_VIRTUAL_TOKENS 5
#define BATCH 3
#define SEQ_LEN 7
#define INIT_SEED 7
#define TEXT_INIT_TOKENS 8
#define LEARNING_RATE 0.01
#define WEIGHT_DECAY 0.01
static const int32_t TEXT_INIT_IDS[] = {5, 6, 7};

#endif
