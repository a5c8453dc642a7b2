"""The compact 3D U-Net and its weights (safetensors plus a model card, never pickle)."""
