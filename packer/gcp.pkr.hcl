# Jan server on Google Cloud: an image from a Deep Learning VM image (Ubuntu 22.04 with the NVIDIA driver,
# project deeplearning-platform-release), with jan-server, its systemd units, the first-boot TLS certificate and
# the firewall. Guide: packer/docs/gcp.md. Build from the repository root, logged in with
# `gcloud auth application-default login`:
#   packer build -var project_id=my-project -var binary=target/cuda-dist/sm80/jan-server packer/gcp.pkr.hcl

variable "project_id" {
  type        = string
  description = "Your Google Cloud project (gcloud config get-value project); required."
}

variable "zone" {
  type        = string
  default     = "us-central1-a"
  description = "Zone to build in; it must offer the machine type (gcloud compute machine-types list --filter=name=g2-standard-4)."
}

variable "machine_type" {
  type        = string
  default     = "g2-standard-4"
  description = "Build machine type. G2 types come with their L4 GPU; N1 types take accelerator_type / accelerator_count."
}

variable "gpu" {
  type        = string
  default     = "L4"
  description = "The GPU the binary was built for (ci/build-cuda.sh --caps: sm80 for 8.x, sm90 for H100/H200): a label on the image, to pick the right one later."
}

variable "accelerator_type" {
  type        = string
  default     = ""
  description = "Only for N1 machine types: e.g. nvidia-tesla-t4 (G2/A2/A3 types include their GPUs: leave empty)."
}

variable "accelerator_count" {
  type    = number
  default = 0
}

variable "source_image_family" {
  type        = string
  default     = "common-cu129-ubuntu-2204-nvidia-580"
  description = "Deep Learning VM image family with NVIDIA driver 580 or newer (CUDA 13.0 needs it)."
}

variable "source_image_project" {
  type    = string
  default = "deeplearning-platform-release"
}

variable "disk_size_gb" {
  type        = number
  default     = 100
  description = "Boot disk of the image in GB (models live on it; VMs can ask for more)."
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
  description = "auto (keep the base's driver, install when none), install or skip: see packer/scripts/nvidia.sh."
}

variable "image_family" {
  type        = string
  default     = "jan-server"
  description = "Family of the new image: `gcloud compute instances create --image-family jan-server` takes the newest."
}

locals {
  stamp       = formatdate("YYYYMMDD-hhmm", timestamp())
  accelerator = var.accelerator_type == "" ? "" : "projects/${var.project_id}/zones/${var.zone}/acceleratorTypes/${var.accelerator_type}"
}

source "googlecompute" "jan" {
  project_id              = var.project_id
  zone                    = var.zone
  machine_type            = var.machine_type
  accelerator_type        = local.accelerator
  accelerator_count       = var.accelerator_count
  on_host_maintenance     = "TERMINATE"
  source_image_family     = var.source_image_family
  source_image_project_id = [var.source_image_project]
  disk_size               = var.disk_size_gb
  disk_type               = "pd-balanced"
  ssh_username            = "packer"

  image_name        = "${var.image_family}-${lower(var.gpu)}-${local.stamp}"
  image_family      = var.image_family
  image_description = "Jan server (jan-server on 443 with TLS, systemd, nftables) for ${var.gpu}, built ${local.stamp}"
  image_labels = {
    project   = "jan-server"
    gpu       = lower(var.gpu)
    built-for = var.machine_type
  }
}

build {
  sources = ["source.googlecompute.jan"]

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
    execute_command  = "chmod +x {{ .Path }}; {{ .Vars }} sudo -E bash '{{ .Path }}'"
    environment_vars = ["JAN_CLOUD=gcp", "CPU_ONLY=${var.cpu_only}", "NVIDIA_DRIVER=${var.nvidia_driver}"]
    scripts = [
      "${path.root}/scripts/base.sh",
      "${path.root}/scripts/nvidia.sh",
      "${path.root}/scripts/jan.sh",
      "${path.root}/scripts/firewall.sh",
      "${path.root}/scripts/verify.sh",
      "${path.root}/scripts/cleanup.sh",
    ]
  }
}
