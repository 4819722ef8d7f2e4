# Jan server on Azure: a managed image from Canonical's Ubuntu 22.04 (Gen2) with Ubuntu's NVIDIA driver
# installed by packer/scripts/nvidia.sh, jan-server, its systemd units, the first-boot TLS certificate and the
# firewall. Guide: packer/docs/azure.md. Build from the repository root, logged in with `az login`:
#   packer build -var binary=target/cuda-dist/sm75/jan-server packer/azure.pkr.hcl

variable "subscription_id" {
  type        = string
  default     = ""
  description = "Your subscription; empty: the one `az login` selected (az account show). Authentication is the Azure CLI's."
}

variable "location" {
  type        = string
  default     = "eastus"
  description = "Azure region to build in (the image lives there)."
}

variable "resource_group" {
  type        = string
  default     = "jan-images"
  description = "Existing resource group that receives the managed image (az group create -n jan-images -l eastus)."
}

variable "vm_size" {
  type        = string
  default     = "Standard_NC4as_T4_v3"
  description = "Build VM size. A GPU size lets the build's smoke test see the GPU; the image runs on any NC/ND size."
}

variable "gpu" {
  type        = string
  default     = "T4"
  description = "The GPU the binary was built for (ci/build-cuda.sh --caps: sm80 for 8.x, sm90 for H100/H200): a tag on the image, to pick the right one later."
}

variable "image_publisher" {
  type    = string
  default = "Canonical"
}

variable "image_offer" {
  type    = string
  default = "0001-com-ubuntu-server-jammy"
}

variable "image_sku" {
  type    = string
  default = "22_04-lts-gen2"
}

variable "os_disk_size_gb" {
  type        = number
  default     = 100
  description = "OS disk of the image in GB (models live on it; VMs can ask for more)."
}

variable "binary" {
  type        = string
  default     = "target/release/jan-server"
  description = "The jan-server release binary to install: a CUDA build for GPU images (see packer/README.md)."
}

variable "cpu_only" {
  type        = bool
  default     = false
  description = "true: accept a CPU build of jan-server (a CPU-only image; also set nvidia_driver = skip)."
}

variable "nvidia_driver" {
  type        = string
  default     = "auto"
  description = "auto (install, as plain Ubuntu has no driver), install or skip: see packer/scripts/nvidia.sh."
}

variable "nvidia_driver_branch" {
  type        = string
  default     = "580-server"
  description = "Ubuntu's NVIDIA driver branch (580 or newer: CUDA 13.0)."
}

variable "image_name_prefix" {
  type    = string
  default = "jan-server"
}

locals {
  stamp = formatdate("YYYYMMDD-hhmm", timestamp())
}

source "azure-arm" "jan" {
  use_azure_cli_auth = true
  subscription_id    = var.subscription_id

  location        = var.location
  vm_size         = var.vm_size
  os_type         = "Linux"
  image_publisher = var.image_publisher
  image_offer     = var.image_offer
  image_sku       = var.image_sku
  os_disk_size_gb = var.os_disk_size_gb

  managed_image_name                = "${var.image_name_prefix}-${lower(var.gpu)}-${local.stamp}"
  managed_image_resource_group_name = var.resource_group

  azure_tags = {
    project  = "jan-server"
    gpu      = var.gpu
    builtFor = var.vm_size
  }
}

build {
  sources = ["source.azure-arm.jan"]

  provisioner "shell" {
    inline = ["mkdir -p /tmp/jan-build"]
  }
  provisioner "file" {
    source      = "${path.root}/files/"
    destination = "/tmp/jan-build/"
  }
  provisioner "file" {
    source      = var.binary
    destination = "/tmp/jan-build/jan-server"
  }
  provisioner "shell" {
    execute_command = "chmod +x {{ .Path }}; {{ .Vars }} sudo -E bash '{{ .Path }}'"
    environment_vars = [
      "JAN_CLOUD=azure", "CPU_ONLY=${var.cpu_only}",
      "NVIDIA_DRIVER=${var.nvidia_driver}", "NVIDIA_DRIVER_BRANCH=${var.nvidia_driver_branch}",
    ]
    scripts = [
      "${path.root}/scripts/base.sh",
      "${path.root}/scripts/nvidia.sh",
      "${path.root}/scripts/jan.sh",
      "${path.root}/scripts/firewall.sh",
      "${path.root}/scripts/verify.sh",
      "${path.root}/scripts/cleanup.sh",
    ]
  }
  # Azure's generalisation step, last: removes the build user and the agent's state.
  provisioner "shell" {
    execute_command = "chmod +x {{ .Path }}; {{ .Vars }} sudo -E sh '{{ .Path }}'"
    inline          = ["/usr/sbin/waagent -force -deprovision+user && export HISTSIZE=0 && sync"]
    inline_shebang  = "/bin/sh -x"
  }
}
