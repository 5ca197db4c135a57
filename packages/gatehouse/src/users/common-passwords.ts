// The most common passwords of at least 8 characters, from the public breach-frequency lists (SecLists
// "10k most common", NCSC "100k-most-used"). Compared case-insensitively.
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  `12345678 123456789 1234567890 password password1 password12 password123 password1234 passw0rd p@ssw0rd
  p@ssword qwertyuiop qwerty123 qwerty1234 1q2w3e4r 1q2w3e4r5t 1qaz2wsx 1qazxsw2 zaq12wsx zaq1zaq1 iloveyou
  iloveyou1 sunshine sunshine1 princess princess1 football football1 baseball baseball1 welcome1 welcome123
  11111111 111111111 1111111111 00000000 000000000 0000000000 12341234 12344321 87654321 987654321
  9876543210 11223344 12121212 123123123 123321123 abcd1234 abc12345 abcdefgh abcdefg1 aa123456 asdfghjkl
  asdf1234 asdfasdf computer computer1 corvette charlie1 trustno1 superman superman1 starwars starwars1
  whatever dragon123 letmein1 letmein123 monkey123 michelle jennifer jordan23 mustang1 master123 shadow123
  killer123 access14 freedom1 internet liverpool chelsea1 arsenal1 samsung1 samantha butterfly
  babygirl1 lovely123 michael1 jessica1 ashley123 nicole123 daniel123 qwertyui 1234qwer q1w2e3r4 q1w2e3r4t5
  a1b2c3d4 zxcvbnm1 zxcvbnm123 qazwsxedc 123qweasd 1234abcd 12qwaszx passport 88888888 66666666 99999999
  77777777 55555555 22222222 33333333 44444444 12345678910 123456789a 1234567a 123456abc admin123 admin1234
  administrator root1234 changeme changeme1 secret123 test1234 testing123 default1 guest123 letmein!
  password! password1! qwerty!23 iloveyou! monkey12 football12 hello123 hello1234 hellokitty 1password
  mypassword yankees1 dolphins cookie123 summer2020 summer2021 summer2022 summer2023 summer2024 summer2025
  winter2020 winter2021 winter2022 winter2023 winter2024 winter2025 spring2024 autumn2024 pokemon1
  blink182 matrix123 peanut123 chocolate chocolate1 maverick pa55word pa55w0rd passw0rd1 p4ssw0rd
  unknown1 jesus123 blessed1 godisgood 1q2w3e4r5t6y qwe123qwe 123qwe123 987654321a`
    .split(/\s+/)
    .filter(Boolean),
);
