package softprompt

import "runtime"

// Trainer holds the optimiser state (AdamW, schedule, gradient accumulation) for one Adapter.
// Only the adapter's trainable tensors (its soft prompt, and a classification head) are trained;
// the model never changes.
type Trainer struct {
	object[Sp_trainer]
	adapter *Adapter       // keeps the Go Adapter reachable for as long as the trainer is
	sizes   map[string]int // trainable tensor sizes, read at creation: Gradient works even after the Adapter is closed
}

// TrainResult is what one Step did.
type TrainResult struct {
	Loss         float32 // mean loss of this micro-batch
	Updated      bool    // whether this step applied an optimizer update
	GradNorm     float32 // total gradient norm before clipping (when Updated)
	LearningRate float32 // rate used by that update (when Updated)
	UpdatesDone  int64   // optimizer updates so far
}

// NewTrainer creates optimiser state for a. opts nil means DefaultTrainerOptions(). The schedule
// matches transformers' get_linear_schedule_with_warmup.
func NewTrainer(a *Adapter, opts *TrainerOptions) (*Trainer, error) {
	if a == nil {
		return nil, newError(StatusInvalidArgument, "the Adapter is nil")
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	names, err := a.ParameterNames()
	if err != nil {
		return nil, err
	}
	h, err := a.acquire()
	if err != nil {
		return nil, err
	}
	defer a.release()
	sizes := make(map[string]int, len(names))
	for _, name := range names {
		if sizes[name], err = parameterSize(h, name); err != nil {
			return nil, err
		}
	}
	handle, err := lockedCall(func() (Sp_trainer, bool) { return created(Spb_trainer_create(h, opts)) })
	runtime.KeepAlive(a)
	if err != nil {
		return nil, err
	}
	t := &Trainer{object: newObject(handle, "Trainer"), adapter: a, sizes: sizes}
	runtime.SetFinalizer(t, (*Trainer).Close)
	return t, nil
}

// Close releases the trainer. Closing twice is a no-op.
func (t *Trainer) Close() error {
	t.close(Sp_trainer_free)
	runtime.SetFinalizer(t, nil)
	return nil
}

// Adapter returns the adapter the trainer trains.
func (t *Trainer) Adapter() *Adapter { return t.adapter }

// Step runs one training step: forward with the soft prompt, the task's loss (causal-LM
// cross-entropy; TaskSeq2SeqLM, TaskSeqCls and TaskTokenCls as EvalLoss), backward into the adapter's trainable
// tensors and, every AccumulationSteps calls, clipping and an AdamW update. On error nothing
// changes.
func (t *Trainer) Step(batch Batch) (TrainResult, error) {
	if err := batch.checkInt32(); err != nil {
		return TrainResult{}, err
	}
	var result TrainResult
	err := batchCall(&t.object, &batch, func(h Sp_trainer, rows []uintptr) Enum_SS_sp_status {
		return Spb_trainer_step(h, batch.BatchSize, batch.SeqLen, batch.InputIDs, batch.AttentionMask,
			batch.Labels, batch.TaskIDs, batch.TokenTypeIDs, batch.RowLabels, batch.DecoderSeqLen, batch.DecoderInputIDs,
			rows, &result)
	})
	if err != nil {
		return TrainResult{}, err
	}
	return result, nil
}

// Gradient returns the gradient of trainable tensor name that the latest optimizer update used,
// before clipping. With AccumulationSteps > 1 it is the MEAN of the micro-batches' gradients (each
// micro-batch's loss is divided by AccumulationSteps, as transformers' Trainer does);
// TrainResult.GradNorm is its norm. StatusNotFound before the first update or for
// unknown names.
func (t *Trainer) Gradient(name string) ([]float32, error) {
	if err := checkString("parameter name", name); err != nil {
		return nil, err
	}
	size, known := t.sizes[name]
	if !known {
		return nil, newError(StatusNotFound, "the adapter has no trainable tensor named \""+name+"\"")
	}
	gradient := make([]float32, size)
	err := t.statusCall(func(h Sp_trainer) Enum_SS_sp_status {
		return Spb_trainer_get_gradient(h, name, gradient)
	})
	if err != nil {
		return nil, err
	}
	return gradient, nil
}

// userStateGuess is the room for user state the first load attempt makes.
const userStateGuess = 4096

// SaveState saves everything training needs to resume exactly (the adapter's tensors, AdamW's
// moments, the counters, accumulated gradients and settings) in one file, atomically, with
// userState: bytes the caller wants back when it resumes (its data order's position, say); nil
// for none. StatusIO when the file cannot be written (an existing one is kept).
func (t *Trainer) SaveState(path string, userState []byte) error {
	if err := checkString("path", path); err != nil {
		return err
	}
	user := string(userState)
	return t.statusCall(func(h Sp_trainer) Enum_SS_sp_status { return Spb_trainer_save_state(h, path, user) })
}

// LoadState restores a file written by SaveState: the adapter's tensors, the optimizer state and
// the settings are replaced, so the next Step computes what the saving trainer's next step would
// have. It returns the saved user state (empty when none). On any error nothing changes:
// StatusNotFound, StatusFormat, StatusUnsupported, StatusModelMismatch (another base model),
// StatusShapeMismatch (another method or other sizes).
func (t *Trainer) LoadState(path string) ([]byte, error) {
	if err := checkString("path", path); err != nil {
		return nil, err
	}
	// A buffer too small for the user state restores nothing and reports the size: then once more.
	return handleCall(&t.object, func(h Sp_trainer) ([]byte, bool) {
		return readSized(userStateGuess, 0, func(out []byte) int64 { return Spb_trainer_load_state(h, path, out) })
	})
}

// DescribeAdapter describes an adapter without loading any model, as a JSON object: a PEFT folder,
// a file of Adapter.SaveFile or a trainer state of Trainer.SaveState ("format", "method",
// "peft_config", "tensors", "parameter_count", and for softprompt's files "base_model", for trainer
// states "trainer"; see sp_adapter_describe in softprompt.h). StatusNotFound, StatusFormat,
// StatusUnsupported.
func DescribeAdapter(path string) (string, error) {
	if err := checkString("path", path); err != nil {
		return "", err
	}
	out, err := lockedCall(func() ([]byte, bool) {
		return readSized(4096, 1, func(buffer []byte) int64 { return Spb_adapter_describe(path, buffer) })
	})
	if err != nil {
		return "", err
	}
	return string(out), nil
}
