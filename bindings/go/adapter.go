package softprompt

import "runtime"

// Adapter is a soft prompt of one method on one Model. Calls on one adapter are serialised by the
// library, so sharing it between goroutines is safe but not parallel.
type Adapter struct {
	object[Sp_adapter]
	model     *Model // keeps the Go Model reachable for as long as the adapter is
	vocabSize int    // the model's, for sizing logits (the model itself may be closed meanwhile)
}

// AdapterInfo describes an adapter.
type AdapterInfo struct {
	Method                 Method
	NumVirtualTokens       int
	NumTasks               int // multitask prompt tuning; 0 for the other methods
	NumParameterTensors    int
	NumTrainableParameters int64 // float32 values over all trainable tensors
	VocabSize              int   // the model's vocabulary: Logits returns rows (* positions) * VocabSize values
	TaskType               TaskType
	NumLabels              int // TaskSeqCls and TaskTokenCls: Classify returns rows (* positions for TaskTokenCls) * NumLabels values; 0 for the other tasks
	HiddenSize             int // the model's: HiddenStates returns rows * positions * HiddenSize values
	// Version counts changes to the adapter's values: 1 after NewAdapter or a load, one more per
	// Trainer.Step that updates them and per Trainer.LoadState. A call uses the compiled prompt of the
	// version current when it began (see "Serving many adapters" in the README).
	Version uint64
}

// NewAdapter creates a trainable adapter on m. opts nil means DefaultAdapterOptions(). With the
// same Seed as torch.manual_seed, every method starts from exactly PEFT's values.
func NewAdapter(m *Model, opts *AdapterOptions) (*Adapter, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	var ids []int32
	var initText, tokenizer, source string
	if opts != nil {
		ids, initText, tokenizer, source = opts.InitTokenIDs, opts.InitText, opts.TokenizerNameOrPath, opts.SourceAdapter
	}
	return newAdapter(m, func(model Sp_model) Sp_adapter {
		return Spb_adapter_create(model, opts, ids, initText, tokenizer, source)
	})
}

// LoadAdapter loads a PEFT-layout adapter folder (adapter_config.json and
// adapter_model.safetensors, written by PEFT or by Save) onto m. The loaded adapter is trainable.
func LoadAdapter(m *Model, folder string) (*Adapter, error) {
	if err := checkString("adapter folder", folder); err != nil {
		return nil, err
	}
	return newAdapter(m, func(model Sp_model) Sp_adapter { return Spb_adapter_load(model, folder) })
}

// LoadAdapterFile loads a file written by SaveFile onto m.
func LoadAdapterFile(m *Model, path string) (*Adapter, error) {
	if err := checkString("adapter file", path); err != nil {
		return nil, err
	}
	return newAdapter(m, func(model Sp_model) Sp_adapter { return Spb_adapter_load_file(model, path) })
}

// newAdapter runs one of the creating C calls on m's handle and wraps its result.
func newAdapter(m *Model, create func(Sp_model) Sp_adapter) (*Adapter, error) {
	if m == nil {
		return nil, newError(StatusInvalidArgument, "the Model is nil")
	}
	handle, err := handleCall(&m.object, func(model Sp_model) (Sp_adapter, bool) { return created(create(model)) })
	if err != nil {
		return nil, err
	}
	a := &Adapter{object: newObject(handle, "Adapter"), model: m, vocabSize: m.info.VocabSize}
	runtime.SetFinalizer(a, (*Adapter).Close)
	return a, nil
}

// Close releases the adapter (trainers on it keep it alive until they are closed). Closing twice
// is a no-op.
func (a *Adapter) Close() error {
	a.close(Sp_adapter_free)
	runtime.SetFinalizer(a, nil)
	return nil
}

// Model returns the model the adapter was created on.
func (a *Adapter) Model() *Model { return a.model }

// Save writes the adapter in PEFT's folder layout (adapter_config.json and
// adapter_model.safetensors), creating the folder if needed. PEFT loads it with
// PeftModel.from_pretrained.
func (a *Adapter) Save(folder string) error {
	return a.save("adapter folder", folder, Sp_adapter_save)
}

// SaveFile writes the adapter as one file in softprompt's own format (every trainable tensor,
// encoders included, so training resumes exactly; compressed and checksummed).
func (a *Adapter) SaveFile(path string) error {
	return a.save("adapter file", path, Sp_adapter_save_file)
}

func (a *Adapter) save(what, path string, save func(Sp_adapter, string) Enum_SS_sp_status) error {
	if err := checkString(what, path); err != nil {
		return err
	}
	return a.statusCall(func(h Sp_adapter) Enum_SS_sp_status { return save(h, path) })
}

// Info returns what the adapter is.
func (a *Adapter) Info() (AdapterInfo, error) {
	return handleCall(&a.object, func(h Sp_adapter) (AdapterInfo, bool) {
		r := Spb_adapter_info(h)
		return r.info, r.ok
	})
}

// ParameterNames returns the names of the trainable tensors, as PEFT names them in memory
// ("embedding.weight", "transform.0.weight", "lstm_head.weight_ih_l0", "prefix_task_cols", ...).
func (a *Adapter) ParameterNames() ([]string, error) {
	info, err := a.Info()
	if err != nil {
		return nil, err
	}
	h, err := a.acquire()
	if err != nil {
		return nil, err
	}
	defer a.release()
	names := make([]string, info.NumParameterTensors)
	for i := range names {
		// A NULL name comes back as "": no tensor has an empty name, so "" means failure.
		names[i], err = lockedCall(func() (string, bool) {
			name := Spb_adapter_parameter_name(h, i)
			return name, name != ""
		})
		if err != nil {
			return nil, err
		}
	}
	runtime.KeepAlive(a)
	return names, nil
}

// parameterSize returns the number of float32 values of trainable tensor name.
func parameterSize(adapter Sp_adapter, name string) (int, error) {
	size, err := lockedCall(func() (int64, bool) {
		n := Spb_adapter_parameter_size(adapter, name)
		return n, n >= 0
	})
	return int(size), err
}

// ParameterShape returns the shape of trainable tensor name in PEFT's layout:
// "lstm_head.weight_ih_l0" is [4*EncoderHiddenSize, hidden size] (PyTorch's i, f, g, o gate
// blocks), multitask prompt tuning's "prefix_task_cols" [NumTasks, NumVirtualTokens, NumRanks].
// The product of the dimensions is len(Parameter(name)), whose values are in this shape, row-major.
// StatusNotFound for unknown names.
func (a *Adapter) ParameterShape(name string) ([]int64, error) {
	if err := checkString("parameter name", name); err != nil {
		return nil, err
	}
	dims := make([]int64, SP_MAX_PARAMETER_DIMS)
	rank, err := handleCall(&a.object, func(h Sp_adapter) (int64, bool) {
		r := Spb_adapter_parameter_shape(h, name, dims)
		return r, r >= 0
	})
	if err != nil {
		return nil, err
	}
	return dims[:rank:rank], nil
}

// Parameter returns a copy of the current values of trainable tensor name (row-major).
func (a *Adapter) Parameter(name string) ([]float32, error) {
	if err := checkString("parameter name", name); err != nil {
		return nil, err
	}
	h, err := a.acquire()
	if err != nil {
		return nil, err
	}
	defer a.release()
	size, err := parameterSize(h, name)
	if err != nil {
		return nil, err
	}
	values := make([]float32, size)
	err = callStatus(func() Enum_SS_sp_status {
		return Spb_adapter_get_parameter(h, name, values)
	})
	runtime.KeepAlive(a)
	if err != nil {
		return nil, err
	}
	return values, nil
}

// Logits runs the model with the adapter's soft prompt and returns the logits (see LogitsMode for
// the layout). Multitask prompt tuning adapters need batch.TaskIDs. TaskCausalLM and TaskSeq2SeqLM
// adapters only (StatusUnsupported otherwise: Classify, HiddenStates); TaskSeq2SeqLM logits are the
// decoder's, at its batch.DecoderSeqLen positions.
func (a *Adapter) Logits(batch Batch, mode LogitsMode) ([]float32, error) {
	return batchLogits(&a.object, Spb_adapter_logits, a.vocabSize, &batch, mode)
}

// EvalLoss returns the mean loss and each row's log-likelihood with the adapter's soft prompt, for
// the adapter's task: TaskCausalLM the causal-LM loss (for prompt methods the last virtual token
// predicts the first real token, so that token is a target too, as in PEFT); TaskSeqCls the
// cross-entropy of batch.RowLabels (required; a row's log-likelihood is log p(its label));
// TaskTokenCls the cross-entropy of batch.Labels (class ids, required; -100 ignored); TaskSeq2SeqLM
// the cross-entropy of the decoder's targets (batch.Labels, BatchSize*DecoderSeqLen; position i
// predicts label i); TaskFeatureExtraction has none (StatusUnsupported). Nothing changes.
func (a *Adapter) EvalLoss(batch Batch) (Evaluation, error) {
	return batchEvalLoss(&a.object, Spb_adapter_eval_loss, &batch)
}

// Classify returns the class scores of a TaskSeqCls or TaskTokenCls adapter (the prompt, the model,
// the head), row-major: TaskSeqCls BatchSize*NumLabels values, TaskTokenCls
// BatchSize*SeqLen*NumLabels (the caller's positions; padded positions are computed too and carry
// no meaning), NumLabels from Info. Labels in the batch are not read. Nothing changes.
// StatusUnsupported for an adapter of another task.
func (a *Adapter) Classify(batch Batch, what ClassOutput) ([]float32, error) {
	if err := batch.checkInt32(); err != nil {
		return nil, err
	}
	info, err := a.Info()
	if err != nil {
		return nil, err
	}
	perRow := int64(info.NumLabels)
	if info.TaskType == TaskTokenCls {
		perRow *= int64(batch.SeqLen)
	}
	out, err := outputSlice(&batch, perRow, "class scores")
	if err != nil {
		return nil, err
	}
	err = batchCall(&a.object, &batch, func(h Sp_adapter, rows []uintptr) Enum_SS_sp_status {
		return Spb_adapter_classify(h, batch.BatchSize, batch.SeqLen, batch.InputIDs, batch.AttentionMask,
			batch.Labels, batch.TaskIDs, batch.TokenTypeIDs, batch.RowLabels, batch.DecoderSeqLen, batch.DecoderInputIDs,
			rows, Enum_SS_sp_class_output(what), out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// HiddenStates returns the final hidden states with the adapter's soft prompt at the caller's
// positions, BatchSize*SeqLen*AdapterInfo.HiddenSize values: after the last norm for decoders, the
// last block's output for encoders (transformers' last_hidden_state); prompt methods' virtual
// positions are left out. Any task type but TaskSeq2SeqLM (StatusUnsupported: use Logits or
// EvalLoss). Nothing changes.
func (a *Adapter) HiddenStates(batch Batch) ([]float32, error) {
	info, err := a.Info()
	if err != nil {
		return nil, err
	}
	return batchHiddenStates(&a.object, Spb_adapter_hidden_states, info.HiddenSize, &batch)
}
