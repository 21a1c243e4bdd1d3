"""Example run configs; they ship as package data so ``tsalign init`` can write one."""
