"""Encoder adaptation to a hospital's language: vocabulary extension and continued masked-language-model
pre-training (framework-free). `adapt.adapt_encoder` is the one entry point; see its module docstring."""
