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
   * True for a decoder with an output layer over the vocabulary (logits, losses, generation); false
   * for an encoder (hidden states and classification only).
   */
  public boolean hasLmHead() {
    return hasLmHead;
  }

  @Override
  public String toString() {
    return "ModelInfo{modelType=" + modelType + ", vocabSize=" + vocabSize + ", hiddenSize=" + hiddenSize
        + ", numLayers=" + numLayers + ", numAttentionHeads=" + numAttentionHeads + ", numKeyValueHeads="
        + numKeyValueHeads + ", headDim=" + headDim + ", maxPositionEmbeddings=" + maxPositionEmbeddings
        + ", typeVocabSize=" + typeVocabSize + ", hasLmHead=" + hasLmHead + "}";
  }
}
