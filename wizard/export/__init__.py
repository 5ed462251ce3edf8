"""Exports for hosts the wizard does not run on: cloud-init UserData for new hosts, a POSIX
sh script for old hosts, and an Ansible playbook for fleets. Each is built from the same
method renderings and transitions as `clb-wizard apply`."""
