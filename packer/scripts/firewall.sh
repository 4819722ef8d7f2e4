#!/usr/bin/env bash
# Provisioning step 4 (as root): the host firewall. nftables, with one table of its own (inet jan_firewall,
# in /etc/jan/firewall.nft, loaded by jan-firewall.service before the network comes up): inbound TCP 22 and
# 443, established traffic, loopback, ICMP and DHCP; everything else inbound is dropped. Outbound is open
# (model downloads, package updates).
#
# ufw is disabled if the base enabled it (two firewalls disagreeing is worse than one); the cloud's own
# firewall (security group, NSG, VPC firewall rule) is the second layer, set up at launch (packer/docs/).
set -euo pipefail
log() { printf '[jan-image] %s\n' "$*"; }

nft -c -f /etc/jan/firewall.nft
log "firewall rules check: ok (inbound tcp 22, 443)"

if command -v ufw >/dev/null && grep -q 'Status: active' <<<"$(ufw status 2>/dev/null)"; then
  log "disabling ufw (jan-firewall.service replaces it)"
  ufw --force disable >/dev/null
  systemctl disable ufw.service >/dev/null 2>&1 || true
fi

# Loaded now too: the rest of the build (over SSH, port 22) then runs behind it, as the VMs will.
systemctl start jan-firewall.service
nft list table inet jan_firewall >/dev/null
log "jan-firewall.service active"
