"""Exports for hosts where clb-wizard is not run by hand: cloud-init UserData for new
hosts (`userdata`), and for fleets an Ansible playbook that installs the portable bundle
on each host and runs clb-wizard itself there (`playbook`)."""
