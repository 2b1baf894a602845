print("zkoffsets")
