// Safe Browsing canonicalization tables, as data, shared by kyojo-core's
// lookup tests and the server's API-level lookup test (`include!`d by both).

/// Every `Canonicalize("...") = "...";` line of Google's document, in its
/// order (33 lines). `\x01\x80` is two raw bytes, hence byte strings.
pub const SB_V4: &[(&[u8], &str)] = &[
    (b"http://host/%25%32%35", "http://host/%25"),
    (b"http://host/%25%32%35%25%32%35", "http://host/%25%25"),
    (b"http://host/%2525252525252525", "http://host/%25"),
    (b"http://host/asdf%25%32%35asd", "http://host/asdf%25asd"),
    (b"http://host/%%%25%32%35asd%%", "http://host/%25%25%25asd%25%25"),
    (b"http://www.google.com/", "http://www.google.com/"),
    (
        b"http://%31%36%38%2e%31%38%38%2e%39%39%2e%32%36/%2E%73%65%63%75%72%65/%77%77%77%2E%65%62%61%79%2E%63%6F%6D/",
        "http://168.188.99.26/.secure/www.ebay.com/",
    ),
    (
        b"http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
        "http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
    ),
    (
        b"http://host%23.com/%257Ea%2521b%2540c%2523d%2524e%25f%255E00%252611%252A22%252833%252944_55%252B",
        "http://host%23.com/~a!b@c%23d$e%25f^00&11*22(33)44_55+",
    ),
    (b"http://3279880203/blah", "http://195.127.0.11/blah"),
    (b"http://www.google.com/blah/..", "http://www.google.com/"),
    (b"www.google.com/", "http://www.google.com/"),
    (b"www.google.com", "http://www.google.com/"),
    (b"http://www.evil.com/blah#frag", "http://www.evil.com/blah"),
    (b"http://www.GOOgle.com/", "http://www.google.com/"),
    (b"http://www.google.com.../", "http://www.google.com/"),
    (
        b"http://www.google.com/foo\tbar\rbaz\n2",
        "http://www.google.com/foobarbaz2",
    ),
    (b"http://www.google.com/q?", "http://www.google.com/q?"),
    (b"http://www.google.com/q?r?", "http://www.google.com/q?r?"),
    (b"http://www.google.com/q?r?s", "http://www.google.com/q?r?s"),
    (b"http://evil.com/foo#bar#baz", "http://evil.com/foo"),
    (b"http://evil.com/foo;", "http://evil.com/foo;"),
    (b"http://evil.com/foo?bar;", "http://evil.com/foo?bar;"),
    (b"http://\x01\x80.com/", "http://%01%80.com/"),
    (b"http://notrailingslash.com", "http://notrailingslash.com/"),
    (b"http://www.gotaport.com:1234/", "http://www.gotaport.com/"),
    (b"  http://www.google.com/  ", "http://www.google.com/"),
    (b"http:// leadingspace.com/", "http://%20leadingspace.com/"),
    (b"http://%20leadingspace.com/", "http://%20leadingspace.com/"),
    (b"%20leadingspace.com/", "http://%20leadingspace.com/"),
    (b"https://www.securesite.com/", "https://www.securesite.com/"),
    (b"http://host.com/ab%23cd", "http://host.com/ab%23cd"),
    (
        b"http://host.com//twoslashes?more//slashes",
        "http://host.com/twoslashes?more//slashes",
    ),
];

/// `gglsbl/tests.py`, `canonical_urls`, in its order (40 rows; the two
/// Python `bytes` keys are the raw-byte rows).
pub const GGLSBL: &[(&[u8], &str)] = &[
    (b"http://host/%25%32%35", "http://host/%25"),
    (b"http://host/%25%32%35%25%32%35", "http://host/%25%25"),
    (b"http://host/%2525252525252525", "http://host/%25"),
    (b"http://host/asdf%25%32%35asd", "http://host/asdf%25asd"),
    (b"http://host/%%%25%32%35asd%%", "http://host/%25%25%25asd%25%25"),
    (b"http://www.google.com/", "http://www.google.com/"),
    (
        b"http://%31%36%38%2e%31%38%38%2e%39%39%2e%32%36/%2E%73%65%63%75%72%65/%77%77%77%2E%65%62%61%79%2E%63%6F%6D/",
        "http://168.188.99.26/.secure/www.ebay.com/",
    ),
    (
        b"http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
        "http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
    ),
    (
        b"http://host%23.com/%257Ea%2521b%2540c%2523d%2524e%25f%255E00%252611%252A22%252833%252944_55%252B",
        "http://host%23.com/~a!b@c%23d$e%25f^00&11*22(33)44_55+",
    ),
    (b"http://3279880203/blah", "http://195.127.0.11/blah"),
    (b"http://0xc37f000b/blah", "http://195.127.0.11/blah"),
    (b"http://www.google.com/blah/..", "http://www.google.com/"),
    (b"www.google.com/", "http://www.google.com/"),
    (b"www.google.com", "http://www.google.com/"),
    (b"http://www.evil.com/blah#frag", "http://www.evil.com/blah"),
    (b"http://www.GOOgle.com/", "http://www.google.com/"),
    (b"google.com", "http://google.com/"),
    (b"google.com:443/abc", "http://google.com:443/abc"),
    (b"//google.com:443/abc", "http://google.com:443/abc"),
    (b"ftp://google.com:443/abc", "ftp://google.com:443/abc"),
    (b"http://www.google.com.../", "http://www.google.com/"),
    (
        b"http://www.google.com/foo\tbar\rbaz\n2",
        "http://www.google.com/foobarbaz2",
    ),
    (b"http://www.google.com/q?", "http://www.google.com/q?"),
    (b"http://www.google.com/q?r?", "http://www.google.com/q?r?"),
    (b"http://www.google.com/q?r?s", "http://www.google.com/q?r?s"),
    (b"http://evil.com/foo#bar#baz", "http://evil.com/foo"),
    (b"http://evil.com/foo;", "http://evil.com/foo;"),
    (b"http://evil.com/foo?bar;", "http://evil.com/foo?bar;"),
    (b"http://\x01\x80.com/", "http://%01%80.com/"),
    (b"http://\x01\xf0.com/", "http://%01%F0.com/"),
    (b"http://notrailingslash.com", "http://notrailingslash.com/"),
    (b"http://www.gotaport.com:1234/", "http://www.gotaport.com:1234/"),
    (b"  http://www.google.com/  ", "http://www.google.com/"),
    (b"http:// leadingspace.com/", "http://%20leadingspace.com/"),
    (b"http://%20leadingspace.com/", "http://%20leadingspace.com/"),
    (b"%20leadingspace.com/", "http://%20leadingspace.com/"),
    (b"https://www.securesite.com/", "https://www.securesite.com/"),
    (b"http://host.com/ab%23cd", "http://host.com/ab%23cd"),
    (
        b"http://host.com//twoslashes?more//slashes",
        "http://host.com/twoslashes?more//slashes",
    ),
    (
        b"http://www.wtp101.com/bk?redir=http%3A%2F%2Ftags.bluekai.com%2Fsite%2F2750%3Fid%3D%3CPARTNER_UUID%3E%0D%0A%26redir%3Dhttp%3A%2F%2Fwww.wtp101.com%2Fpush%2Fbluekai%3Fxid%3D%24BK_UUID",
        "http://www.wtp101.com/bk?redir=http://tags.bluekai.com/site/2750?id=<PARTNER_UUID>%0D%0A&redir=http://www.wtp101.com/push/bluekai?xid=$BK_UUID",
    ),
];

/// gglsbl rows whose expected value we do not share: (input, our answer).
/// All four are the port: gglsbl keeps it, as the older (v2) document did
/// ("http://www.gotaport.com:1234/" stayed as it was); the v4 document
/// removes it (`Canonicalize("http://www.gotaport.com:1234/") =
/// "http://www.gotaport.com/"`), and so does Google's Go client. A port is
/// not part of any expression Safe Browsing hashes, so keeping it would make
/// every lookup of such a URL miss.
pub const GGLSBL_DISAGREES: &[(&[u8], &str)] = &[
    (b"google.com:443/abc", "http://google.com/abc"),
    (b"//google.com:443/abc", "http://google.com/abc"),
    (b"ftp://google.com:443/abc", "ftp://google.com/abc"),
    (b"http://www.gotaport.com:1234/", "http://www.gotaport.com/"),
];
