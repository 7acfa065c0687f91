/**
 * Layers as {@link dev.frugal.models.Module}s, each PyTorch's namesake with PyTorch's variable
 * names and default initialisation: Linear, Conv2d (stride, padding, dilation, groups),
 * DepthwiseSeparableConv2d, BatchNorm2d, LayerNorm, Embedding, Dropout, the activations ReLU,
 * GELU and SiLU, MaxPool2d, GlobalAvgPool2d, Flatten, and the containers Sequential and Residual;
 * and GPT-2's CausalSelfAttention (fused attention) and pre-norm TransformerBlock.
 */
package dev.frugal.models.layers;
