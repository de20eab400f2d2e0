"""A fix PEFT's generate needs to be a valid reference (and a fair benchmark) on the pinned versions.

Used by tests/reference/generation_reference.py and bench/compare_generation.py.
"""


def pass_cache_under_its_old_name(peft_model):
    """PEFT 0.21.2's per-step generation inputs (spec section 5.1) look for the cache under `past_key_values`;
    transformers 5.24 names it `cache`. Unpatched, PEFT sees no cache at any step: prompt methods re-insert their
    virtual tokens at every step and prefix tuning's keys and values never reach the model (its generation is the
    base model's). This hands PEFT the cache under the name it reads; the model accepts the old name (deprecated)
    for the new one, so PEFT's own per-step rules then run as written."""
    base_prepare = peft_model.base_model_prepare_inputs_for_generation

    def prepare(*args, **kwargs):
        inputs = base_prepare(*args, **kwargs)
        if "cache" in inputs and "past_key_values" not in inputs:
            inputs["past_key_values"] = inputs.pop("cache")
        return inputs

    peft_model.base_model_prepare_inputs_for_generation = prepare
