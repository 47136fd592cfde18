# Terraform and container targets; included from the top-level Makefile.
#
#   make terraform-vars       regenerate terraform/functions.auto.tfvars.json
#   make test-terraform-fmt   terraform fmt -check (skips, loudly, without terraform)
#   make image FUNCTION=summarize [IMAGE_REPOSITORY=... IMAGE_TAG=...]
#   make images               one image per function
#   make push-images          docker push of those images

TERRAFORM ?= terraform
PYTHON ?= python3
DOCKER ?= docker

# Functions deployed by Terraform; each is a workspace package whose binary
# prints its FunctionSpec with `<function> spec`.
TF_FUNCTIONS ?= summarize asr-postprocess
TF_DIR := terraform
TF_VARS_FILE := $(TF_DIR)/functions.auto.tfvars.json

# Where images go: REGION-docker.pkg.dev/PROJECT/REPOSITORY (docs/deploy.md).
IMAGE_REPOSITORY ?= tasklane
IMAGE_TAG ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo dev)

.PHONY: terraform-vars test-terraform-fmt image images push-images

# Each spec goes through a file so that a failing `cargo run` stops the target
# before anything is written; the script then replaces the tfvars file whole.
terraform-vars:
	@set -e; \
	tmp=$$(mktemp -d); \
	trap 'rm -rf "$$tmp"' EXIT; \
	for f in $(TF_FUNCTIONS); do \
		cargo run -q -p "$$f" -- spec > "$$tmp/$$f.json"; \
	done; \
	$(PYTHON) $(TF_DIR)/scripts/functions_tfvars.py --output $(TF_VARS_FILE) \
		$(foreach f,$(TF_FUNCTIONS),"$$tmp/$(f).json"); \
	echo "wrote $(TF_VARS_FILE)"

test-terraform-fmt:
	@if command -v $(TERRAFORM) >/dev/null 2>&1; then \
		$(TERRAFORM) fmt -check -recursive -diff $(TF_DIR)/ \
		&& echo "terraform fmt: $(TF_DIR)/ is formatted"; \
	else \
		echo "SKIPPED test-terraform-fmt: '$(TERRAFORM)' is not on PATH;" \
			"install Terraform >= 1.5 to check the formatting of $(TF_DIR)/"; \
	fi

image:
	@test -n "$(FUNCTION)" || { \
		echo "usage: make image FUNCTION=<one of: $(TF_FUNCTIONS)>" >&2; exit 2; }
	$(DOCKER) build --build-arg FUNCTION=$(FUNCTION) \
		-t $(IMAGE_REPOSITORY)/$(FUNCTION):$(IMAGE_TAG) .

images:
	@for f in $(TF_FUNCTIONS); do \
		$(MAKE) --no-print-directory image FUNCTION=$$f || exit 1; \
	done

push-images: images
	@for f in $(TF_FUNCTIONS); do \
		$(DOCKER) push $(IMAGE_REPOSITORY)/$$f:$(IMAGE_TAG) || exit 1; \
	done
