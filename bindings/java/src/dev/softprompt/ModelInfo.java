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

  ModelInfo(sp_model_info info) {
    modelType = info.getModel_type();
    vocabSize = info.getVocab_size();
    hiddenSize = info.getHidden_size();
    numLayers = info.getNum_layers();
    numAttentionHeads = info.getNum_attention_heads();
    numKeyValueHeads = info.getNum_key_value_heads();
    headDim = info.getHead_dim();
    maxPositionEmbeddings = info.getMax_position_embeddings();
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

  @Override
  public String toString() {
    return "ModelInfo{modelType=" + modelType + ", vocabSize=" + vocabSize + ", hiddenSize=" + hiddenSize
        + ", numLayers=" + numLayers + ", numAttentionHeads=" + numAttentionHeads + ", numKeyValueHeads="
        + numKeyValueHeads + ", headDim=" + headDim + ", maxPositionEmbeddings=" + maxPositionEmbeddings + "}";
  }
}
