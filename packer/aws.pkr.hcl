# Jan server on AWS: an AMI from the Deep Learning Base GPU AMI (Ubuntu 22.04, NVIDIA driver and CUDA
# included), with jan-server, its systemd units, the first-boot TLS certificate and the firewall.
# Guide: packer/docs/aws.md. Build from the repository root:
#   packer build -var binary=target/cuda-dist/sm80/jan-server packer/aws.pkr.hcl

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region to build in (the AMI lives there; copy it with `aws ec2 copy-image`)."
}

variable "instance_type" {
  type        = string
  default     = "g5.xlarge"
  description = "Build instance type. A GPU type lets the build's smoke test see the GPU; the AMI runs on any of them."
}

variable "gpu" {
  type        = string
  default     = "A10G"
  description = "The GPU the binary was built for (ci/build-cuda.sh --caps: sm80 for 8.x, sm90 for H100/H200): a tag on the AMI, to pick the right one later."
}

variable "source_ami_name" {
  type        = string
  default     = "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *"
  description = "Name filter of the base AMI (newest match wins)."
}

variable "source_ami_owner" {
  type    = string
  default = "amazon"
}

variable "ssh_username" {
  type    = string
  default = "ubuntu"
}

variable "volume_size_gb" {
  type        = number
  default     = 100
  description = "Root volume of the AMI in GB (models live on it; instances can ask for more)."
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

variable "ami_name_prefix" {
  type    = string
  default = "jan-server"
}

locals {
  stamp = formatdate("YYYYMMDD-hhmm", timestamp())
}

source "amazon-ebs" "jan" {
  region          = var.region
  instance_type   = var.instance_type
  ssh_username    = var.ssh_username
  ami_name        = "${var.ami_name_prefix}-${lower(var.gpu)}-${local.stamp}"
  ami_description = "Jan server (jan-server on 443 with TLS, systemd, nftables) for ${var.gpu}, built ${local.stamp}"

  source_ami_filter {
    filters = {
      name                = var.source_ami_name
      architecture        = "x86_64"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
    owners      = [var.source_ami_owner]
    most_recent = true
  }

  launch_block_device_mappings {
    device_name           = "/dev/sda1"
    volume_size           = var.volume_size_gb
    volume_type           = "gp3"
    iops                  = 3000
    throughput            = 125
    delete_on_termination = true
  }

  tags = {
    Name     = "${var.ami_name_prefix}-${lower(var.gpu)}"
    Project  = "jan-server"
    Gpu      = var.gpu
    BaseAMI  = "{{ .SourceAMIName }}"
    BuiltFor = var.instance_type
  }
  run_tags = {
    Name = "packer-jan-server-build"
  }
}

build {
  sources = ["source.amazon-ebs.jan"]

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
    environment_vars = ["JAN_CLOUD=aws", "CPU_ONLY=${var.cpu_only}", "NVIDIA_DRIVER=${var.nvidia_driver}"]
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
