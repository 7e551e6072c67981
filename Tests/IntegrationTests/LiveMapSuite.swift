import Testing

/// Suites that compare our view of the live OSDMap with the cluster's, and the one that
/// changes the map (OSD out/in, upmaps), run one after another: a placement comparison
/// must not race a map change.
@Suite(.serialized) struct LiveMapSuite {}
