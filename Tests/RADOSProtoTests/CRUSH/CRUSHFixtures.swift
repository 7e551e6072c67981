// Fixtures produced by Ceph 16.2's crushtool; the expected lines are its output.
//   crushtool --outfn straw2 --build --num_osds 16 host straw2 4 rack straw2 2 root straw2 0
//   crushtool --outfn mixed --build --num_osds 16 host uniform 2 rack list 2 row tree 2 room straw 2 root straw2 0
//   crushtool -i MAP --test --show-mappings --num-rep 3 --min-x 0 --max-x 15 [--weight 0 0.5 --weight 15 0]
import Foundation
import NIOCore

enum CRUSHFixtures {
    static func bytes(_ parts: [String]) -> ByteBuffer {
        ByteBuffer(bytes: Data(base64Encoded: parts.joined()) ?? Data())
    }

    /// 16 OSDs, 4 straw2 hosts in 2 racks under one root; rule 0 = chooseleaf firstn host.
    static let straw2 = bytes([
        "AAABAAgAAAABAAAAEAAAAAUAAAD/////AQAFAAAABAAEAAAAAAAAAAEAAAACAAAAAwAAAAAAAQAAAAEAAAABAAAAAQAFAAAA/v//",
        "/wEABQAAAAQABAAAAAQAAAAFAAAABgAAAAcAAAAAAAEAAAABAAAAAQAAAAEABQAAAP3///8BAAUAAAAEAAQAAAAIAAAACQAAAAoA",
        "AAALAAAAAAABAAAAAQAAAAEAAAABAAUAAAD8////AQAFAAAABAAEAAAADAAAAA0AAAAOAAAADwAAAAAAAQAAAAEAAAABAAAAAQAF",
        "AAAA+////wIABQAAAAgAAgAAAP/////+////AAAEAAAABAAFAAAA+v///wIABQAAAAgAAgAAAP3////8////AAAEAAAABAAFAAAA",
        "+f///wMABQAAABAAAgAAAPv////6////AAAIAAAACAAAAAAAAQAAAAMAAAAAAQEKAQAAAPn///8AAAAABgAAAAAAAAABAAAABAAA",
        "AAAAAAAAAAAABAAAAAAAAAADAAAAb3NkAQAAAAQAAABob3N0AgAAAAQAAAByYWNrAwAAAAQAAAByb290FwAAAPn///8EAAAAcm9v",
        "dPr///8FAAAAcmFjazH7////BQAAAHJhY2sw/P///wUAAABob3N0M/3///8FAAAAaG9zdDL+////BQAAAGhvc3Qx/////wUAAABo",
        "b3N0MAAAAAAFAAAAb3NkLjABAAAABQAAAG9zZC4xAgAAAAUAAABvc2QuMgMAAAAFAAAAb3NkLjMEAAAABQAAAG9zZC40BQAAAAUA",
        "AABvc2QuNQYAAAAFAAAAb3NkLjYHAAAABQAAAG9zZC43CAAAAAUAAABvc2QuOAkAAAAFAAAAb3NkLjkKAAAABgAAAG9zZC4xMAsA",
        "AAAGAAAAb3NkLjExDAAAAAYAAABvc2QuMTINAAAABgAAAG9zZC4xMw4AAAAGAAAAb3NkLjE0DwAAAAYAAABvc2QuMTUBAAAAAAAA",
        "AA8AAAByZXBsaWNhdGVkX3J1bGUAAAAAAAAAADIAAAABAAAAAQE2AAAAAQAAAAAAAAAAAAAAAAAAAAA=",
    ])

    /// 16 OSDs: uniform hosts, list racks, tree rows, straw rooms, straw2 root.
    static let mixed = bytes([
        "AAABABAAAAABAAAAEAAAAAEAAAD/////AQABAAAAAgACAAAAAAAAAAEAAAAAAAEAAQAAAP7///8BAAEAAAACAAIAAAACAAAAAwAA",
        "AAAAAQABAAAA/f///wEAAQAAAAIAAgAAAAQAAAAFAAAAAAABAAEAAAD8////AQABAAAAAgACAAAABgAAAAcAAAAAAAEAAQAAAPv/",
        "//8BAAEAAAACAAIAAAAIAAAACQAAAAAAAQABAAAA+v///wEAAQAAAAIAAgAAAAoAAAALAAAAAAABAAEAAAD5////AQABAAAAAgAC",
        "AAAADAAAAA0AAAAAAAEAAQAAAPj///8BAAEAAAACAAIAAAAOAAAADwAAAAAAAQACAAAA9////wIAAgAAAAQAAgAAAP/////+////",
        "AAACAAAAAgAAAAIAAAAEAAIAAAD2////AgACAAAABAACAAAA/f////z///8AAAIAAAACAAAAAgAAAAQAAgAAAPX///8CAAIAAAAE",
        "AAIAAAD7////+v///wAAAgAAAAIAAAACAAAABAACAAAA9P///wIAAgAAAAQAAgAAAPn////4////AAACAAAAAgAAAAIAAAAEAAMA",
        "AADz////AwADAAAACAACAAAA9/////b///8EAAAAAAAABAAAAAgAAAAEAAMAAADy////AwADAAAACAACAAAA9f////T///8EAAAA",
        "AAAABAAAAAgAAAAEAAQAAADx////BAAEAAAAEAACAAAA8/////L///8AAAgAAAABAAAACAAAAAEABQAAAPD///8FAAUAAAAQAAEA",
        "AADx////AAAQAAEAAAADAAAAAAEBCgEAAADw////AAAAAAYAAAAAAAAAAQAAAAQAAAAAAAAAAAAAAAYAAAAAAAAAAwAAAG9zZAEA",
        "AAAEAAAAaG9zdAIAAAAEAAAAcmFjawMAAAADAAAAcm93BAAAAAQAAAByb29tBQAAAAQAAAByb290IAAAAPD///8EAAAAcm9vdPH/",
        "//8FAAAAcm9vbTDy////BAAAAHJvdzHz////BAAAAHJvdzD0////BQAAAHJhY2sz9f///wUAAAByYWNrMvb///8FAAAAcmFjazH3",
        "////BQAAAHJhY2sw+P///wUAAABob3N0N/n///8FAAAAaG9zdDb6////BQAAAGhvc3Q1+////wUAAABob3N0NPz///8FAAAAaG9z",
        "dDP9////BQAAAGhvc3Qy/v///wUAAABob3N0Mf////8FAAAAaG9zdDAAAAAABQAAAG9zZC4wAQAAAAUAAABvc2QuMQIAAAAFAAAA",
        "b3NkLjIDAAAABQAAAG9zZC4zBAAAAAUAAABvc2QuNAUAAAAFAAAAb3NkLjUGAAAABQAAAG9zZC42BwAAAAUAAABvc2QuNwgAAAAF",
        "AAAAb3NkLjgJAAAABQAAAG9zZC45CgAAAAYAAABvc2QuMTALAAAABgAAAG9zZC4xMQwAAAAGAAAAb3NkLjEyDQAAAAYAAABvc2Qu",
        "MTMOAAAABgAAAG9zZC4xNA8AAAAGAAAAb3NkLjE1AQAAAAAAAAAPAAAAcmVwbGljYXRlZF9ydWxlAAAAAAAAAAAyAAAAAQAAAAEB",
        "NgAAAAEAAAAAAAAAAAAAAAAAAAAA",
    ])

    static let straw2Mappings: [String] = [
        "CRUSH rule 0 x 0 [0,15,8]",
        "CRUSH rule 0 x 1 [15,0,9]",
        "CRUSH rule 0 x 2 [13,5,3]",
        "CRUSH rule 0 x 3 [12,0,4]",
        "CRUSH rule 0 x 4 [14,6,3]",
        "CRUSH rule 0 x 5 [13,0,9]",
        "CRUSH rule 0 x 6 [14,4,9]",
        "CRUSH rule 0 x 7 [5,15,11]",
        "CRUSH rule 0 x 8 [15,9,2]",
        "CRUSH rule 0 x 9 [2,15,8]",
        "CRUSH rule 0 x 10 [13,0,10]",
        "CRUSH rule 0 x 11 [9,5,0]",
        "CRUSH rule 0 x 12 [14,2,7]",
        "CRUSH rule 0 x 13 [14,8,5]",
        "CRUSH rule 0 x 14 [11,6,0]",
        "CRUSH rule 0 x 15 [7,9,14]",
    ]

    /// With device weights 0 → 0.5 and 15 → 0 (`--weight`).
    static let straw2ReweightedMappings: [String] = [
        "CRUSH rule 0 x 0 [0,8,4]",
        "CRUSH rule 0 x 1 [0,9,12]",
        "CRUSH rule 0 x 2 [13,5,3]",
        "CRUSH rule 0 x 3 [12,4,10]",
        "CRUSH rule 0 x 4 [14,6,3]",
        "CRUSH rule 0 x 5 [13,0,9]",
        "CRUSH rule 0 x 6 [14,4,9]",
        "CRUSH rule 0 x 7 [5,14,11]",
        "CRUSH rule 0 x 8 [12,9,2]",
        "CRUSH rule 0 x 9 [2,8,6]",
        "CRUSH rule 0 x 10 [13,0,10]",
        "CRUSH rule 0 x 11 [9,5,0]",
        "CRUSH rule 0 x 12 [14,2,7]",
        "CRUSH rule 0 x 13 [14,8,5]",
        "CRUSH rule 0 x 14 [11,6,3]",
        "CRUSH rule 0 x 15 [7,9,14]",
    ]

    static let mixedMappings: [String] = [
        "CRUSH rule 0 x 0 [1,11,15]",
        "CRUSH rule 0 x 1 [10,3,12]",
        "CRUSH rule 0 x 2 [15,4,0]",
        "CRUSH rule 0 x 3 [13,4,14]",
        "CRUSH rule 0 x 4 [10,13,5]",
        "CRUSH rule 0 x 5 [2,1,15]",
        "CRUSH rule 0 x 6 [13,2,0]",
        "CRUSH rule 0 x 7 [1,3,6]",
        "CRUSH rule 0 x 8 [10,12,3]",
        "CRUSH rule 0 x 9 [1,15,6]",
        "CRUSH rule 0 x 10 [3,7,4]",
        "CRUSH rule 0 x 11 [11,8,15]",
        "CRUSH rule 0 x 12 [6,15,4]",
        "CRUSH rule 0 x 13 [14,5,0]",
        "CRUSH rule 0 x 14 [15,10,7]",
        "CRUSH rule 0 x 15 [13,0,2]",
    ]
}
