package softprompt

import "runtime"

// Model is a frozen base model loaded from a Hugging Face model folder. Its weights never change;
// any number of goroutines may use it (and adapters on it) at the same time.
type Model struct {
	object[Sp_model]
	info ModelInfo // immutable, read once at Open
}

// ModelInfo describes a loaded model.
type ModelInfo struct {
	ModelType             string // "llama", "qwen2", "gpt2" (decoders), "bert", "roberta" (encoders)
	VocabSize             int
	HiddenSize            int
	NumLayers             int // an encoder-decoder model's encoder layers (see NumDecoderLayers)
	NumAttentionHeads     int
	NumKeyValueHeads      int
	HeadDim               int
	MaxPositionEmbeddings int
	TypeVocabSize         int  // token types (segments) the model embeds (BERT, RoBERTa): Batch.TokenTypeIDs are in [0, TypeVocabSize); 0 for none
	HasLMHead             bool // a decoder or encoder-decoder model, with an output layer over the vocabulary (logits, losses, generation); false for an encoder
	// IsEncoderDecoder: an encoder-decoder model (T5): its batches have a decoder side
	// (Batch.DecoderSeqLen), its adapters are TaskSeq2SeqLM, its contexts read prompts into the
	// encoder and generate the decoder's tokens.
	IsEncoderDecoder    bool
	NumDecoderLayers    int   // the decoder's layers of an encoder-decoder model; 0 for other models
	DecoderStartTokenID int64 // the id an encoder-decoder model's decoder starts from (T5: the pad id); -1 for other models
}

// Open loads a model folder (config.json plus model.safetensors, or the shards named by
// model.safetensors.index.json). opts nil means DefaultModelOptions().
func Open(folder string, opts *ModelOptions) (*Model, error) {
	if err := checkString("model folder", folder); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	handle, err := lockedCall(func() (Sp_model, bool) { return created(Spb_model_create(folder, opts)) })
	if err != nil {
		return nil, err
	}
	m := &Model{object: newObject(handle, "Model")}
	runtime.SetFinalizer(m, (*Model).Close)
	if m.info, err = m.readInfo(); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Close releases the model. Adapters created on it keep working (the library keeps the model
// alive until they are closed too). Closing twice is a no-op.
func (m *Model) Close() error {
	m.close(Sp_model_free)
	runtime.SetFinalizer(m, nil)
	return nil
}

func (m *Model) readInfo() (ModelInfo, error) {
	return handleCall(&m.object, func(h Sp_model) (ModelInfo, bool) {
		r := Spb_model_info(h)
		return r.info, r.ok
	})
}

// Info returns the model's sizes.
func (m *Model) Info() (ModelInfo, error) {
	if _, err := m.acquire(); err != nil {
		return ModelInfo{}, err
	}
	m.release()
	return m.info, nil
}

// Logits runs the base model alone (no soft prompt) and returns its logits (see LogitsMode for
// the layout); with batch.RowAdapters, each row runs with its own adapter's soft prompt (or none)
// and gets the logits it would get alone through Adapter.Logits. Decoders and encoder-decoder models
// only (ModelInfo.HasLMHead; StatusUnsupported for an encoder); an encoder-decoder model's are the
// decoder's, at its batch.DecoderSeqLen positions.
func (m *Model) Logits(batch Batch, mode LogitsMode) ([]float32, error) {
	return batchLogits(&m.object, Spb_model_logits, m.info.VocabSize, &batch, mode)
}

// EvalLoss returns the base model's mean causal-LM loss on the batch and each row's
// log-likelihood (with batch.RowAdapters, each row with its own adapter, as Adapter.EvalLoss gives
// it). Position i predicts label i+1 (encoder-decoder models: the decoder's position i predicts
// label i); labels of -100 are skipped.
func (m *Model) EvalLoss(batch Batch) (Evaluation, error) {
	return batchEvalLoss(&m.object, Spb_model_eval_loss, &batch)
}

// HiddenStates returns the base model's final hidden states (with batch.RowAdapters, each row with
// its own adapter), BatchSize*SeqLen*HiddenSize values (transformers' last_hidden_state;
// batch.TokenTypeIDs are used where the model has token types; an encoder-decoder model's are its
// encoder's).
func (m *Model) HiddenStates(batch Batch) ([]float32, error) {
	return batchHiddenStates(&m.object, Spb_model_hidden_states, m.info.HiddenSize, &batch)
}
