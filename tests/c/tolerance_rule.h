/* The one tolerance rule of the test suites, free of any softprompt API so that the C suites
 * (through test_support.h) and the C++ core suites share it. */
#ifndef SP_TOLERANCE_RULE_H
#define SP_TOLERANCE_RULE_H

/* The one tolerance rule of every numerical comparison in the suites (ours against transformers or
 * PEFT, or ours against ourselves on another code path).
 *
 * Two float computations of the same value that differ only in summation order, blocking, vector
 * width or fused kernels (what changes between AVX2 and AVX-512, MKL and OpenBLAS, CPU and CUDA)
 * each carry a round-off error of at most gamma_n = n*u/(1 - n*u) times the magnitude of the terms
 * summed (Higham, "Accuracy and Stability of Numerical Algorithms", ch. 3). So we allow
 *
 *     |ours - reference| <= SP_TOLERANCE_SAFETY * u * n * M        for every element
 *
 *   u  unit round-off of the compute dtype: 2^-24 float32, 2^-11 float16, 2^-8 bfloat16;
 *   n  the reduction length: the summed lengths of the dot products and reductions along the
 *      longest dependency chain that produced the value, stated at each call site from the model's
 *      sizes with the helpers below (never a number picked to make a comparison pass):
 *        conformance_forward_length()   logits of a forward pass (transformer + prompt encoder),
 *        conformance_loss_length()      a loss or log-likelihood over those logits,
 *        conformance_gradient_length()  a gradient of that loss (the backward pass doubles the chain);
 *   M  the magnitude of the reference: its largest |value| over the whole tensor (an element's
 *      error is set by the size of the terms that built it, which the tensor's largest entry
 *      represents; an element near zero gets the same absolute room as its neighbours).
 * SP_TOLERANCE_SAFETY covers the two errors of a comparison (ours and the reference's) and the
 * few elementwise operations between reductions. Nothing in the rule depends on the machine.
 *
 * One consequence follows from the rule rather than being a second rule: a tensor after one AdamW
 * step inherits its gradient's bound through the optimizer (conformance_adamw_bound_at()).
 *
 * What the rule still catches: the bound is S*u*n relative to M, about 7e-4 for the gradients of
 * the tiny test models, so a single element off by 1e-3 of the tensor's largest value fails
 * (tests/c/test_tolerance_rule.c shows it on real PEFT gradients). */
#define SP_TOLERANCE_SAFETY 4.0

/* The rule itself: the allowed max |ours - reference| for values of magnitude `magnitude` (the
 * reference's largest |value|) reached through reductions of total length `reduction_length` in a
 * dtype of unit round-off `unit_roundoff`. */
static inline double tolerance_rule_bound(double unit_roundoff, double reduction_length, double magnitude) {
  return SP_TOLERANCE_SAFETY * unit_roundoff * reduction_length * magnitude;
}

/* The reduction length of one transformer forward pass (see conformance_forward_length() in
 * test_support.h for what each term counts), from plain sizes so that C++ suites can state it too. */
static inline double tolerance_rule_forward_length(double layers, double hidden, double heads, double head_dim,
                                                   double intermediate, double keys, double encoder_length) {
  const double per_layer = hidden * 4 + 2.0 * head_dim + keys + heads * head_dim + intermediate;
  return encoder_length + layers * per_layer + 2.0 * hidden;
}

#endif
