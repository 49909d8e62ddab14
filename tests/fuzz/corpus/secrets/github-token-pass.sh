#!/bin/sh
# Placeholders, a token too short to be one, a token from the CI's
# secrets, and a prefix inside a longer word.
export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
export GH_TOKEN=ghp_abc123
export GITHUB_TOKEN="${{ secrets.GITHUB_TOKEN }}"
echo notghp_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ
