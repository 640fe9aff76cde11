-- storyline schema v50: recording a merge repoints every redirect that ended at the merged-away
-- story (UPDATE story_merges ... WHERE new_id = ?); index it so each merge is a look-up, not a scan.
CREATE INDEX story_merges_new ON story_merges(new_id);
