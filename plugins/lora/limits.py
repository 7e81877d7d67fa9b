"""What a LoRA run may ask for: torch-free, read by the training code and by the tab alike."""

MAX_STEPS = 2_000
# The Llama block's linear layers an adapter may wrap: attention's four, then the SwiGLU's three
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
