package dev.softprompt;

import dev.softprompt.internal.sp_model_info;

/** Sizes of a loaded model (sp_model_info). */
public final class ModelInfo {
  private final String modelType;
  private final long vocabSize;
  private final long hiddenSize;
  private final long numLayers;
  private final long numAttentionHeads;
  private final long numKeyValueHeads;
  private final long headDim;
  private final long maxPositionEmbeddings;
  private final long typeVocabSize;
  private final boolean hasLmHead;
  private final boolean isEncoderDecoder;
  private final long numDecoderLayers;
  private final long decoderStartTokenId;

  ModelInfo(sp_model_info info) {
    modelType = info.getModel_type();
    vocabSize = info.getVocab_size();
    hiddenSize = info.getHidden_size();
    numLayers = info.getNum_layers();
    numAttentionHeads = info.getNum_attention_heads();
    numKeyValueHeads = info.getNum_key_value_heads();
    headDim = info.getHead_dim();
    maxPositionEmbeddings = info.getMax_position_embeddings();
    typeVocabSize = info.getType_vocab_size();
    hasLmHead = info.getHas_lm_head() != 0;
    isEncoderDecoder = info.getIs_encoder_decoder() != 0;
    numDecoderLayers = info.getNum_decoder_layers();
    decoderStartTokenId = info.getDecoder_start_token_id();
  }

  /** config.json's model_type, e.g. "llama". */
  public String modelType() {
    return modelType;
  }

  public long vocabSize() {
    return vocabSize;
  }

  public long hiddenSize() {
    return hiddenSize;
  }

  /** The layer count; an encoder-decoder model's encoder layers (see {@link #numDecoderLayers}). */
  public long numLayers() {
    return numLayers;
  }

  public long numAttentionHeads() {
    return numAttentionHeads;
  }

  public long numKeyValueHeads() {
    return numKeyValueHeads;
  }

  public long headDim() {
    return headDim;
  }

  public long maxPositionEmbeddings() {
    return maxPositionEmbeddings;
  }

  /**
   * Token types (segments) the model embeds (BERT, RoBERTa): {@link Batch.Builder#tokenTypeIds}
   * take values in [0, typeVocabSize); 0 for models without token types.
   */
  public long typeVocabSize() {
    return typeVocabSize;
  }

  /**
   * True for a decoder or an encoder-decoder model, which have an output layer over the vocabulary
   * (logits, losses, generation); false for an encoder (hidden states and classification only).
   */
  public boolean hasLmHead() {
    return hasLmHead;
  }

  /**
   * True for an encoder-decoder model (T5): its batches have a decoder side
   * ({@link Batch.Builder#decoderSeqLen}), its adapters are {@link TaskType#SEQ_2_SEQ_LM}, its
   * contexts read prompts into the encoder and generate the decoder's tokens.
   */
  public boolean isEncoderDecoder() {
    return isEncoderDecoder;
  }

  /** The decoder's layers of an encoder-decoder model; 0 for other models. */
  public long numDecoderLayers() {
    return numDecoderLayers;
  }

  /**
   * The id an encoder-decoder model's decoder starts from (T5: the pad id), which generation puts
   * first and labels shifted right start with; -1 for other models.
   */
  public long decoderStartTokenId() {
    return decoderStartTokenId;
  }

  @Override
  public String toString() {
    return "ModelInfo{modelType=" + modelType + ", vocabSize=" + vocabSize + ", hiddenSize=" + hiddenSize
        + ", numLayers=" + numLayers + ", numAttentionHeads=" + numAttentionHeads + ", numKeyValueHeads="
        + numKeyValueHeads + ", headDim=" + headDim + ", maxPositionEmbeddings=" + maxPositionEmbeddings
        + ", typeVocabSize=" + typeVocabSize + ", hasLmHead=" + hasLmHead + ", isEncoderDecoder=" + isEncoderDecoder
        + ", numDecoderLayers=" + numDecoderLayers + ", decoderStartTokenId=" + decoderStartTokenId + "}";
  }
}
